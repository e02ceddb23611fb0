"""Procedure search and ranking: hybrid/keyword/semantic retrieval in the scope, re-checked on the record,
with a small success-rate nudge that reorders only near-equal relevance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from contextiq import limits
from contextiq.ai.embedders.base import Embedder
from contextiq.ids import epoch
from contextiq.models.memories import scope_key
from contextiq.models.procedures import (
    Procedure,
    ProcedureSearchRequest,
    ProcedureSearchResponse,
    ProcedureSearchResult,
    ProcedureStats,
)
from contextiq.observability import timed
from contextiq.services.procedure_projection import procedure_filters
from contextiq.services.procedure_records import ProcedureRepository, live
from contextiq.stores.dynamo.procedures import StoredProcedure
from contextiq.stores.vector.base import SearchQuery, VectorIndex

SUCCESS_WEIGHT = 0.02  # relevance + 0.02 * (smoothed success rate - 0.5): reorders only near-equal relevance


def smoothed_success(stats: ProcedureStats) -> float:
    """Laplace-smoothed success rate: 0.5 for an unused procedure, moving towards the observed rate."""
    return (stats.successes + 1) / (stats.uses + 2)


class ProcedureSearch:
    """Reads only; ``clock`` is called per search (the service passes its own, so a test may swap it)."""

    def __init__(
        self, repo: ProcedureRepository, embedder: Embedder, index: VectorIndex, clock: Callable[[], datetime]
    ) -> None:
        self._repo = repo
        self._embedder = embedder
        self._index = index
        self._clock = clock

    def _query(
        self, tenant: str, req: ProcedureSearchRequest, fetch: int, vector: Sequence[float] | None = None
    ) -> list[tuple[StoredProcedure, float]]:
        """Best first; ``vector`` lets a caller that already embedded ``req.query`` reuse it."""
        now = self._clock()
        kinds = [req.kind.value] if req.kind else ["workflow", "skill"]
        statuses = ["active", "deprecated"] if req.include_deprecated else ["active"]
        if req.mode == "keyword":
            vector = None
        elif vector is None:
            vector = self._embedder.embed_query(req.query)
        hits = self._index.search(
            SearchQuery(
                tenant=tenant,
                scope_key=scope_key(req.scope),
                text=req.query,
                vector=vector,
                top_k=fetch,
                mode=req.mode,
                filters=procedure_filters(kinds, statuses),
                now=epoch(now),
                kind="procedure",
            )
        )
        records = self._repo.get_many(tenant, [h.memory_id for h in hits])
        found = []
        for hit in hits:
            stored = live(records.get(hit.memory_id), now)
            if stored is None or stored.procedure.scope != req.scope:
                continue
            p = stored.procedure
            if p.kind.value not in kinds or p.status.value not in statuses:
                continue  # the index lags a status change: the record decides
            if req.min_success_rate is not None and (
                p.stats.success_rate is None or p.stats.success_rate < req.min_success_rate
            ):
                continue
            found.append((stored, hit.score + SUCCESS_WEIGHT * (smoothed_success(p.stats) - 0.5)))
        found.sort(key=lambda x: (-x[1], x[0].procedure.id))
        return found

    def search(
        self, tenant: str, req: ProcedureSearchRequest, vector: Sequence[float] | None = None
    ) -> ProcedureSearchResponse:
        fetch = min(limits.MAX_TOP_K, max(3 * req.top_k, 20))
        with timed("ProcedureSearchLatency"):
            found = self._query(tenant, req, fetch, vector)
        return ProcedureSearchResponse(
            results=[
                ProcedureSearchResult(procedure=s.procedure, score=round(score, 6)) for s, score in found[: req.top_k]
            ]
        )

    def similar(self, tenant: str, scope: dict[str, str], text: str, top_k: int = 5) -> list[tuple[Procedure, float]]:
        """The scope's procedures (deprecated included) closest in meaning to ``text``, best first, with
        their semantic score ((1 + cos) / 2): for consolidating learned procedures."""
        req = ProcedureSearchRequest(
            scope=scope, query=text[: limits.MAX_QUERY_CHARS], top_k=top_k, include_deprecated=True, mode="semantic"
        )
        now = self._clock()
        vector = self._embedder.embed_query(req.query)
        hits = self._index.search(
            SearchQuery(
                tenant=tenant,
                scope_key=scope_key(scope),
                text=req.query,
                vector=vector,
                top_k=top_k,
                mode="semantic",
                now=epoch(now),
                kind="procedure",
            )
        )
        records = self._repo.get_many(tenant, [h.memory_id for h in hits])
        out = []
        for hit in hits:
            stored = live(records.get(hit.memory_id), now)
            if stored is not None and stored.procedure.scope == scope:
                out.append((stored.procedure, hit.score))
        return out
