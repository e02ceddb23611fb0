"""Unified recall: the memories of a scope and the events of its user, fused into one ranked list.

Method (documented in docs/search.md):

1. Each source is searched in hybrid mode with the same query vector (embedded once), the same
   ``after``/``before`` window and the same metadata filter: memories of exactly ``scope``; events of
   the sessions whose ``user_id`` (and ``app_name``, when the scope has one) match the scope. Each returns
   a pool of ``max(2 * top_k, 20)`` candidates.
2. Date expressions in the query (``services/query_dates.py``) boost, within each source, the results
   whose time falls in the window they name (a stable partition: in-window first); without one, an
   event-anchored expression ("before her trip", ``services/query_anchors.py``) is resolved by a keyword
   search of the user's events and, when confident, the anchor's time bounds the same boost window.
3. The pools are fused by ``services/recall_fusion.py`` (each pool's hybrid scores rescaled to [0, 1],
   events weighted 0.5, near-duplicates removed), the method and weights chosen on development splits of
   the evaluation set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contextiq.ids import utcnow
from contextiq.models.filters import conditions
from contextiq.models.recall import QueryAnchor, RecallRequest, RecallResponse, RecallResult
from contextiq.observability import timed
from contextiq.services.episodes import EpisodeService, EventQuery
from contextiq.services.memories import MemoryService
from contextiq.services.query_anchors import ANCHOR_CANDIDATES, ResolvedAnchor, find_anchor, resolve
from contextiq.services.query_dates import Window, query_window
from contextiq.services.recall_fusion import DEFAULT_FUSION, Candidate, Fusion, fuse


def pool_size(top_k: int) -> int:
    return max(2 * top_k, 20)


class RecallService:
    def __init__(
        self,
        memories: MemoryService,
        episodes: EpisodeService,
        clock: Callable[[], datetime] = utcnow,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> None:
        self._fusion = fusion
        self._memories = memories
        self._episodes = episodes
        self._clock = clock

    def recall(self, tenant: str, req: RecallRequest) -> RecallResponse:
        with timed("RecallLatency"):
            sources = set(req.sources or ("memory", "event"))
            window: Window | None = None
            anchor: ResolvedAnchor | None = None
            if req.use_query_dates and req.after is None and req.before is None:
                window = query_window(req.query, self._clock())
                if window is None:
                    anchor = self._anchor(tenant, req)
                    window = anchor.window if anchor else None
            conds = conditions(req.filter)
            pool = pool_size(req.top_k)
            vector = self._episodes.embed_query(req.query)
            memories: list[Candidate] = []
            events: list[Candidate] = []
            if "memory" in sources:
                found = self._memories.find(
                    tenant, req.scope, req.query, pool, after=req.after, before=req.before, filters=conds,
                    vector=vector,
                )  # fmt: skip
                memories = [Candidate("memory", "m:" + m.id, s, memory=m) for m, s in found]
            user_id = req.scope.get("user_id")
            if "event" in sources and user_id is not None:
                query = EventQuery(
                    user_id, req.query, pool, "hybrid", app_name=req.scope.get("app_name"),
                    after=req.after, before=req.before, filters=conds,
                )  # fmt: skip
                found_events = self._episodes.query(tenant, query, vector)
                events = [Candidate("event", "e:" + e.id, s, event=e) for e, s in found_events]
            chosen = fuse(memories, events, window, req.top_k, self._fusion)
        return RecallResponse(
            results=[RecallResult(type=c.type, score=c.score, memory=c.memory, event=c.event) for c in chosen],
            after=window.after if window else req.after,
            before=window.before if window else req.before,
            anchor=_applied(anchor),
        )

    def _anchor(self, tenant: str, req: RecallRequest) -> ResolvedAnchor | None:
        """The query's event anchor resolved among the scope's events (``services/query_anchors.py``)."""
        user_id = req.scope.get("user_id")
        found = find_anchor(req.query) if user_id is not None else None
        if found is None or user_id is None:
            return None
        query = EventQuery(user_id, found.phrase, ANCHOR_CANDIDATES, "keyword", app_name=req.scope.get("app_name"))
        return resolve(found, (event for event, _ in self._episodes.query(tenant, query)))


def _applied(anchor: ResolvedAnchor | None) -> QueryAnchor | None:
    if anchor is None:
        return None
    event = anchor.event
    return QueryAnchor(
        relation=anchor.anchor.relation, phrase=anchor.anchor.phrase, event_id=event.id,
        session_id=event.session_id, timestamp=event.timestamp, confidence=round(anchor.confidence, 3),
    )  # fmt: skip
