"""Operations that must run inside the local server, which owns the embedded index and moto's data.

They act on every tenant, so no tenant's API key opens them: each start generates an admin token,
written only to ``<data-dir>/local.json`` (mode 0600), and these routes want it in ``x-contextiq-admin``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from contextiq.api.deps import Services
from contextiq.errors import ForbiddenError
from contextiq.services.indexing import reindex

ADMIN_HEADER = "x-contextiq-admin"


def admin_router(token: str) -> APIRouter:
    def require_admin(x_contextiq_admin: Annotated[str | None, Header()] = None) -> None:
        if not x_contextiq_admin or not secrets.compare_digest(x_contextiq_admin.encode(), token.encode()):
            raise ForbiddenError(f"this route wants the local admin token (header {ADMIN_HEADER}, see local.json)")

    router = APIRouter(prefix="/_local", include_in_schema=False, dependencies=[Depends(require_admin)])

    @router.post("/reindex")
    def reindex_local(c: Services, drop: bool = True, reembed: bool = False) -> dict[str, int]:
        """What scripts/reindex.py asks for when `contextiq local` is running."""
        return reindex(
            c.vector_index,
            c.embedder,
            c.index_tables(),
            drop=drop,
            reembed=reembed,
            opted_out=c.event_opt_out,
        )

    return router
