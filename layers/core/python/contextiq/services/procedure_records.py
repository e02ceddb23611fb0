"""The record side of procedures: the repository protocol, liveness, revisions and provenance merging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from contextiq import limits
from contextiq.ids import new_id
from contextiq.models.procedures import (
    Procedure,
    ProcedureAction,
    ProcedureRevision,
    Provenance,
)
from contextiq.stores.dynamo.procedures import StoredProcedure


class ProcedureRepository(Protocol):
    def create(
        self, tenant: str, p: Procedure, vector: Sequence[float], model: str, revision: ProcedureRevision
    ) -> None: ...
    def update(
        self,
        tenant: str,
        p: Procedure,
        expected_version: int,
        revision: ProcedureRevision,
        *,
        vector: Sequence[float] | None = None,
        model: str | None = None,
        reset_window: bool = False,
        auto_status: bool = False,
        window: tuple[int, int] | None = None,
    ) -> None: ...
    def record_outcome(
        self, tenant: str, procedure_id: str, success: bool, now: datetime
    ) -> StoredProcedure | None: ...
    def tombstone(
        self, tenant: str, procedure_id: str, expected_version: int, revision: ProcedureRevision, now: datetime
    ) -> None: ...
    def get(self, tenant: str, procedure_id: str) -> StoredProcedure | None: ...
    def get_many(self, tenant: str, procedure_ids: Sequence[str]) -> dict[str, StoredProcedure]: ...
    def list_scope(
        self,
        tenant: str,
        scope: dict[str, str],
        kind: str | None,
        status: str | None,
        limit: int,
        token: str | None,
        *,
        now: datetime,
    ) -> tuple[list[StoredProcedure], str | None]: ...
    def revisions(
        self, tenant: str, procedure_id: str, limit: int, token: str | None
    ) -> tuple[list[ProcedureRevision], str | None]: ...


def live(stored: StoredProcedure | None, now: datetime) -> StoredProcedure | None:
    """The record when it exists, is not deleted and has not expired at ``now``; else None."""
    if stored is None or stored.deleted:
        return None
    expire = stored.procedure.expire_time
    return None if expire and expire <= now else stored


def new_revision(
    p: Procedure,
    action: ProcedureAction,
    actor: str,
    reason: str | None,
    now: datetime,
    provenance: Provenance | None = None,
) -> ProcedureRevision:
    return ProcedureRevision(
        revision_id=new_id(),
        procedure_id=p.id,
        action=action,
        reason=reason,
        actor=actor,
        name=p.name,
        description=p.description,
        steps=p.steps,
        parameters=p.parameters,
        status=p.status,
        provenance=provenance,
        time=now,
        version=p.version,
    )


def merge_provenance(old: Provenance, new: Provenance) -> Provenance:
    cap = limits.MAX_PROVENANCE_IDS
    return Provenance(
        trajectory_ids=list(dict.fromkeys([*old.trajectory_ids, *new.trajectory_ids]))[-cap:],
        event_ids=list(dict.fromkeys([*old.event_ids, *new.event_ids]))[-cap:],
    )


# A change computed from the stored procedure: (new procedure, action, reason, options for the write).
Change = tuple[Procedure, ProcedureAction, str | None, dict[str, object]]
