"""Operations that must run inside the local server, which owns the embedded index and moto's data."""

from __future__ import annotations

from fastapi import APIRouter

from contextiq.api.deps import Services, Tenant
from contextiq.services.indexing import reindex

router = APIRouter(prefix="/_local", include_in_schema=False)


@router.post("/reindex")
def reindex_local(_tenant: Tenant, c: Services, drop: bool = True, reembed: bool = False) -> dict[str, int]:
    """What scripts/reindex.py asks for when `contextiq local` is running (any tenant's key may ask)."""
    return reindex(
        c.vector_index, c.embedder, c.index_tables(), drop=drop, reembed=reembed, opted_out=c.settings.events_opted_out
    )
