"""How recall fuses its sources into one list (docs/search.md, "Unified recall").

Both sources are searched in hybrid mode with the same query vector, so their scores are on one scale:
the semantic score ``(1 + cos) / 2`` pushed towards 1 by keyword coverage (stores/vector/fusion.py). A
:class:`Fusion` says how the two candidate pools become one list:

* ``method="rrf"``: reciprocal rank fusion, ``w_s / (k + rank_s)`` summed over sources; rank-based, so
  blind to the scale of the scores.
* ``method="score"``: the hybrid scores themselves, events' multiplied by ``event_weight``; in-window
  results (a date in the query) first, as in ``rrf``.
* ``method="minmax"``: as ``score``, each pool's scores first rescaled to [0, 1] (best 1, worst 0), so
  each source's confidence counts relative to its own spread.
* ``support``: an event that is in the provenance (``source.event_ids``) of a memory in the pool is not a
  competitor of that memory but evidence for it: its contribution goes to the memory (summed under
  ``rrf``, the larger of the two under ``score``) and the event is not listed on its own.

Then near-duplicates go: an event already in the provenance of a memory that is returned is dropped and
the list refilled (:func:`without_covered_events`). :data:`DEFAULT_FUSION` was chosen on a development
split of the multi-session set and measured on a held-out one (contextiq.evaluation.fusion_study,
docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contextiq.models.memories import Memory
from contextiq.models.sessions import Event
from contextiq.services.query_dates import Window

#: A result whose time is in the query's window outranks every result outside it under ``score``.
_IN_WINDOW = 1.0


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


@dataclass(frozen=True)
class Fusion:
    method: Literal["rrf", "score", "minmax"] = "rrf"
    k: int = 60  # the RRF constant
    event_weight: float = 1.0  # memories weigh 1
    support: bool = False

    def label(self) -> str:
        head = f"rrf k={self.k}" if self.method == "rrf" else self.method
        return f"{head} w_event={self.event_weight:g}" + (" support" if self.support else "")


#: Chosen by contextiq.evaluation.fusion_study on three development splits of the multi-session set (seeds
#: 20241202-4, 324 questions) and measured on the held-out one (seed 20241201): docs/benchmarks.md. Each
#: pool's scores rescaled to its own [best, worst] measure how much a hit stands out within its source;
#: events weigh half a memory because a distilled fact answers more often than the turn it came from.
DEFAULT_FUSION = Fusion(method="minmax", event_weight=0.5, support=False)


def boost_window(items: Sequence[Candidate], window: Window | None) -> list[Candidate]:
    """A stable partition: results whose time falls in ``window`` first."""
    if window is None:
        return list(items)
    inside = [c for c in items if window.contains(c.when)]
    return inside + [c for c in items if not window.contains(c.when)]


def _owners(memories: Sequence[Candidate]) -> dict[str, str]:
    """Event id -> key of the best-ranked pooled memory whose provenance names it."""
    owner: dict[str, str] = {}
    for c in memories:
        if c.memory is not None and c.memory.source is not None:
            for event_id in c.memory.source.event_ids:
                owner.setdefault(event_id, c.key)
    return owner


def fuse(
    memories: Sequence[Candidate],
    events: Sequence[Candidate],
    window: Window | None,
    top_k: int,
    fusion: Fusion = DEFAULT_FUSION,
) -> list[Candidate]:
    """The ``top_k`` of both pools (each best first), fused as ``fusion`` says (module docstring)."""
    lists = [(boost_window(memories, window), 1.0), (boost_window(events, window), fusion.event_weight)]
    owner = _owners(memories) if fusion.support else {}
    fused: dict[str, tuple[float, Candidate]] = {}
    for items, weight in lists:
        lo, hi = min((c.score for c in items), default=0.0), max((c.score for c in items), default=0.0)
        for rank, c in enumerate(items, start=1):
            if fusion.method == "rrf":
                value = weight / (fusion.k + rank)
            else:
                raw = (c.score - lo) / (hi - lo) if fusion.method == "minmax" and hi > lo else c.score
                value = weight * raw + (_IN_WINDOW if window is not None and window.contains(c.when) else 0.0)
            key = owner.get(c.event.id, c.key) if c.event is not None else c.key
            prev = fused.get(key)
            if prev is None:
                fused[key] = (value, c)
            elif fusion.method == "rrf":
                fused[key] = (prev[0] + value, prev[1])
            else:
                fused[key] = (max(prev[0], value), prev[1])
    order = sorted(fused.values(), key=lambda t: (-t[0], t[1].type, t[1].key))
    ranked = [Candidate(c.type, c.key, score, c.memory, c.event) for score, c in order]
    return without_covered_events(ranked, top_k)


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
