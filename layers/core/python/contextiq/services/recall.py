"""Unified recall: the memories of a scope and the events of its user, fused into one ranked list.

Method (documented in docs/search.md):

1. Each source is searched in hybrid mode with the same query vector (embedded once), the same
   ``after``/``before`` window and the same metadata filter: memories of exactly ``scope``; events of
   the sessions whose ``user_id`` (and ``app_name``, when the scope has one) match the scope. Each returns
   a pool of ``max(2 * top_k, 20)`` candidates.
2. Date expressions in the query (``services/query_dates.py``) boost, within each source, the results
   whose time falls in the window they name (a stable partition: in-window first).
3. Reciprocal rank fusion: ``score = sum over sources of w_s / (K + rank_s)`` with ``K = 60`` and equal
   weights. Rank-based because memories and turns differ in length and style, so their hybrid scores are
   not on one scale (a short distilled fact scores higher than the turn it came from for the same
   question); RRF needs no calibration and is the fusion OpenSearch and most hybrid stacks document.
4. Near-duplicates: an event already in the ``source.event_ids`` of a returned memory is dropped and the
   list refilled from the remaining candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from contextiq.ids import utcnow
from contextiq.models.filters import conditions
from contextiq.models.memories import Memory
from contextiq.models.recall import RecallRequest, RecallResponse, RecallResult
from contextiq.models.sessions import Event
from contextiq.observability import timed
from contextiq.services.episodes import EpisodeService, EventQuery
from contextiq.services.memories import MemoryService
from contextiq.services.query_dates import Window, query_window

RRF_K = 60
WEIGHTS = {"memory": 1.0, "event": 1.0}


def pool_size(top_k: int) -> int:
    return max(2 * top_k, 20)


@dataclass(frozen=True)
class Candidate:
    type: str  # "memory" | "event"
    key: str
    score: float
    memory: Memory | None = None
    event: Event | None = None

    @property
    def when(self) -> datetime:
        if self.memory is not None:
            return self.memory.event_time
        assert self.event is not None
        return self.event.timestamp


def boost_window(items: Sequence[Candidate], window: Window | None) -> list[Candidate]:
    if window is None:
        return list(items)
    inside = [c for c in items if window.contains(c.when)]
    return inside + [c for c in items if not window.contains(c.when)]


def rrf(lists: Sequence[Sequence[Candidate]], k: int = RRF_K) -> list[Candidate]:
    """Reciprocal rank fusion; ties broken by source order then key (deterministic)."""
    fused: dict[str, tuple[float, Candidate]] = {}
    for items in lists:
        for rank, c in enumerate(items, start=1):
            score = WEIGHTS[c.type] / (k + rank)
            prev = fused.get(c.key)
            fused[c.key] = (score + (prev[0] if prev else 0.0), c)
    order = sorted(fused.values(), key=lambda t: (-t[0], t[1].type, t[1].key))
    return [Candidate(c.type, c.key, score, c.memory, c.event) for score, c in order]


def without_covered_events(fused: Sequence[Candidate], top_k: int) -> list[Candidate]:
    """The first ``top_k`` of ``fused`` after dropping events a chosen memory already carries."""
    chosen: list[Candidate] = []
    covered: set[str] = set()
    skipped: set[str] = set()
    changed = True
    while changed:
        changed = False
        chosen, covered = [], set()
        for c in fused:
            if len(chosen) >= top_k:
                break
            if c.key in skipped:
                continue
            chosen.append(c)
            if c.memory is not None and c.memory.source is not None:
                covered.update(c.memory.source.event_ids)
        for c in chosen:
            if c.event is not None and c.event.id in covered and c.key not in skipped:
                skipped.add(c.key)
                changed = True
    return chosen


class RecallService:
    def __init__(
        self, memories: MemoryService, episodes: EpisodeService, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._memories = memories
        self._episodes = episodes
        self._clock = clock

    def recall(self, tenant: str, req: RecallRequest) -> RecallResponse:
        with timed("RecallLatency"):
            sources = set(req.sources or ("memory", "event"))
            window = None
            if req.use_query_dates and req.after is None and req.before is None:
                window = query_window(req.query, self._clock())
            conds = conditions(req.filter)
            pool = pool_size(req.top_k)
            vector = self._episodes.embed_query(req.query)
            lists: list[list[Candidate]] = []
            if "memory" in sources:
                found = self._memories.find(
                    tenant, req.scope, req.query, pool, after=req.after, before=req.before, filters=conds,
                    vector=vector,
                )  # fmt: skip
                lists.append([Candidate("memory", "m:" + m.id, s, memory=m) for m, s in found])
            user_id = req.scope.get("user_id")
            if "event" in sources and user_id is not None:
                query = EventQuery(
                    user_id, req.query, pool, "hybrid", app_name=req.scope.get("app_name"),
                    after=req.after, before=req.before, filters=conds,
                )  # fmt: skip
                events = self._episodes.query(tenant, query, vector)
                lists.append([Candidate("event", "e:" + e.id, s, event=e) for e, s in events])
            fused = rrf([boost_window(items, window) for items in lists])
            chosen = without_covered_events(fused, req.top_k)
        return RecallResponse(
            results=[RecallResult(type=c.type, score=c.score, memory=c.memory, event=c.event) for c in chosen],
            after=window.after if window else req.after,
            before=window.before if window else req.before,
        )
