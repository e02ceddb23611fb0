"""Episodes: search what was said, event by event, in one user's sessions.

Events are indexed by the stream indexer (``services/indexing.py``) as documents of kind ``event`` in
the user's own partition; a hit is read back from the sessions table (BatchGetItem) and dropped unless
its session is still live, so a deleted or expired session never shows up while the index lags.

Hybrid event search fuses with :data:`EVENT_FUSION`, not the index's default (keyword weight 0.5): a
keyword weight of 0.2, and the query's function words ("what", "when", "did", "how", pronouns...) left
out of its keyword side. Raw turns answer in other words far more often than distilled facts, and users
ask questions too, so any keyword match on a question word lifted a chatty turn ("Oh, how exciting!",
"What should I wear?") above the answer. Chosen by ``contextiq.evaluation.event_fusion_study`` on the
development splits of the multi-session set (seeds 20241202-4) by the rule of docs/evaluation.md, and
checked on the held-out one (docs/benchmarks.md, "Hybrid event search against its components").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from contextiq.ai.embedders.base import Embedder
from contextiq.ids import epoch, epoch_ms, utcnow
from contextiq.models.recall import EventResult, EventSearchRequest, EventSearchResponse
from contextiq.models.sessions import Event, Session
from contextiq.observability import timed
from contextiq.stores.vector.base import Condition, SearchMode, SearchQuery, VectorIndex
from contextiq.stores.vector.documents import events_partition, parse_event_doc_id
from contextiq.stores.vector.fusion import HybridFusion

EVENT_FUSION = HybridFusion(keyword_weight=0.2, normalize="max", drop_function_words=True)


class EventRepository(Protocol):
    def get_events(self, tenant: str, keys: list[tuple[str, int]]) -> dict[tuple[str, int], Event]: ...
    def get_sessions(self, tenant: str, session_ids: list[str], *, now: datetime) -> dict[str, Session]: ...


@dataclass(frozen=True)
class EventQuery:
    user_id: str
    text: str
    top_k: int = 10
    mode: SearchMode = "hybrid"
    app_name: str | None = None
    session_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    filters: tuple[Condition, ...] = ()


class EpisodeService:
    def __init__(
        self,
        repo: EventRepository,
        embedder: Embedder,
        index: VectorIndex,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._repo = repo
        self._embedder = embedder
        self._index = index
        self._clock = clock

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_query(text)

    def query(self, tenant: str, q: EventQuery, vector: Sequence[float] | None = None) -> list[tuple[Event, float]]:
        """Best first; ``vector`` lets a caller that already embedded ``q.text`` reuse it."""
        now = self._clock()
        if vector is None and q.mode != "keyword":
            vector = self._embedder.embed_query(q.text)
        filters = list(q.filters)
        if q.app_name is not None:
            filters.append(Condition("app_name", values=(q.app_name,)))
        if q.session_id is not None:
            filters.append(Condition("session_id", values=(q.session_id,)))
        hits = self._index.search(
            SearchQuery(
                tenant=tenant,
                scope_key=events_partition(q.user_id),
                text=q.text,
                vector=None if q.mode == "keyword" else vector,
                top_k=q.top_k,
                mode=q.mode,
                now=epoch(now),
                after=epoch_ms(q.after) if q.after else None,
                before=epoch_ms(q.before) if q.before else None,
                filters=tuple(filters),
                kind="event",
                fusion=EVENT_FUSION,
            )
        )
        keys = [parse_event_doc_id(h.memory_id) for h in hits]
        events = self._repo.get_events(tenant, keys)
        sessions = self._repo.get_sessions(tenant, sorted({sid for sid, _ in keys}), now=now)
        out: list[tuple[Event, float]] = []
        for key, hit in zip(keys, hits, strict=True):
            event = events.get(key)
            session = sessions.get(key[0])
            if event is None or session is None or session.user_id != q.user_id:
                continue
            if q.app_name is not None and session.app_name != q.app_name:
                continue
            out.append((event, hit.score))
        return out

    def search(self, tenant: str, req: EventSearchRequest) -> EventSearchResponse:
        with timed("EventSearchLatency"):
            found = self.query(
                tenant,
                EventQuery(
                    req.user_id, req.query, req.top_k, req.mode, req.app_name, req.session_id, req.after, req.before
                ),
            )
        return EventSearchResponse(results=[EventResult(event=e, score=s) for e, s in found])
