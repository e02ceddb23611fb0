"""Procedures: create, read, change (with revisions), delete, outcome feedback; search is delegated.

DynamoDB is the record; the vector index is written through after every versioned change and repaired
by the procedures-table stream (services/procedure_indexing.py), as for memories. Procedures live in
their own document kinds (``kind="procedure"`` / ``"trajectory"`` in the index), so memory search never
returns a procedure and procedure search never returns a memory. The rest of the procedure service lives
beside this module: the index projection (procedure_projection.py), the repository protocol and
revisions (procedure_records.py), and search and ranking (procedure_search.py).

Deprecation rule (docs/procedures.md): counting only the outcomes reported since the steps last
changed (the *window*), a procedure with at least ``DEPRECATION_MIN_USES`` outcomes and a success rate
below ``DEPRECATION_SUCCESS_RATE`` is deprecated by the feedback that crossed the line, with a revision
saying why. A procedure the rule deprecated becomes active again when feedback brings the window's rate
back to the threshold, or when its steps change (the window restarts). A status set by hand (PATCH) is
left alone by the rule; reactivating by hand restarts the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from contextiq import limits
from contextiq.ai.embedders.base import Embedder
from contextiq.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    VersionConflictError,
)
from contextiq.ids import new_id, utcnow
from contextiq.models.procedures import (
    Feedback,
    Pitfall,
    Procedure,
    ProcedureAction,
    ProcedureCreate,
    ProcedurePatch,
    ProcedureRevision,
    ProcedureSearchRequest,
    ProcedureSearchResponse,
    ProcedureStats,
    ProcedureStatus,
    Provenance,
    procedure_content_size,
)
from contextiq.observability import count, logger
from contextiq.retry import Backoff, attempts
from contextiq.services.procedure_projection import apply_procedure_to_index, embedding_text
from contextiq.services.procedure_records import Change, ProcedureRepository, live, merge_provenance, new_revision
from contextiq.services.procedure_search import ProcedureSearch
from contextiq.stores.dynamo.procedures import StoredProcedure
from contextiq.stores.vector.base import VectorIndex


def should_deprecate(win_uses: int, win_successes: int) -> bool:
    return win_uses >= limits.DEPRECATION_MIN_USES and win_successes / win_uses < limits.DEPRECATION_SUCCESS_RATE


class ProcedureService:
    MAX_ATTEMPTS = 8
    BACKOFF = Backoff(base=0.01, cap=0.2)

    def __init__(
        self,
        repo: ProcedureRepository,
        embedder: Embedder,
        index: VectorIndex,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._embedder = embedder
        self._index = index
        self._clock = clock
        self._sleep = sleep
        self._search = ProcedureSearch(repo, embedder, index, lambda: self._clock())

    # -- reads ----------------------------------------------------------------------------------

    def _get_live(self, tenant: str, procedure_id: str) -> StoredProcedure:
        stored = live(self._repo.get(tenant, procedure_id), self._clock())
        if stored is None:
            raise NotFoundError(f"procedure {procedure_id} not found")
        return stored

    def get(self, tenant: str, procedure_id: str) -> Procedure:
        return self._get_live(tenant, procedure_id).procedure

    def list_scope(
        self, tenant: str, scope: dict[str, str], kind: str | None, status: str | None, limit: int, token: str | None
    ) -> tuple[list[Procedure], str | None]:
        items, next_token = self._repo.list_scope(tenant, scope, kind, status, limit, token, now=self._clock())
        return [s.procedure for s in items], next_token

    def revisions(
        self, tenant: str, procedure_id: str, limit: int, token: str | None
    ) -> tuple[list[ProcedureRevision], str | None]:
        items, next_token = self._repo.revisions(tenant, procedure_id, limit, token)
        if not items and token is None:
            raise NotFoundError(f"procedure {procedure_id} not found")
        return items, next_token

    # -- writes ---------------------------------------------------------------------------------

    def _check_size(self, p: Procedure) -> None:
        size = procedure_content_size(p.name, p.description, p.steps, p.parameters, p.pitfalls)
        if size > limits.MAX_PROCEDURE_BYTES:
            raise PayloadTooLargeError(
                f"a procedure's name, description, steps, parameters and pitfalls are limited to "
                f"{limits.MAX_PROCEDURE_BYTES} bytes of JSON (got {size})",
                [FieldProblem("steps", "too large")],
            )

    def _embed(self, p: Procedure) -> list[float]:
        return self._embedder.embed([embedding_text(p)])[0]

    def _write_through(self, stored: StoredProcedure) -> None:
        try:
            apply_procedure_to_index(self._index, stored)
        except Exception:  # the stream indexer repairs it; the record is already safe
            logger.exception("write-through to the vector index failed", extra={"procedure_id": stored.procedure.id})

    def create(
        self,
        tenant: str,
        req: ProcedureCreate,
        actor: str,
        provenance: Provenance | None = None,
        procedure_id: str | None = None,
        reason: str | None = None,
    ) -> Procedure:
        now = self._clock()
        expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0) if req.ttl_seconds else None
        p = Procedure(
            id=procedure_id or new_id(),
            scope=req.scope,
            kind=req.kind,
            name=req.name,
            description=req.description,
            steps=req.steps,
            parameters=req.parameters,
            topics=req.topics,
            metadata=req.metadata,
            status=ProcedureStatus.ACTIVE,
            stats=ProcedureStats(),
            provenance=provenance or Provenance(),
            create_time=now,
            update_time=now,
            expire_time=expire,
            version=1,
        )
        self._check_size(p)
        vector = self._embed(p)
        revision = new_revision(p, ProcedureAction.CREATED, actor, reason, now, provenance)
        try:
            self._repo.create(tenant, p, vector, self._embedder.model_id, revision)
        except VersionConflictError as err:
            raise ConflictError(f"procedure {p.id} already exists") from err
        self._write_through(StoredProcedure(tenant, p, vector, self._embedder.model_id))
        count("ProceduresAdded")
        return p

    def _stale(self, current: int, expected: int) -> PreconditionFailedError:
        return PreconditionFailedError(
            f"procedure is at version {current}, not {expected}",
            [FieldProblem("header.If-Match", f"stale: current version is {current}")],
        )

    def _change(
        self,
        tenant: str,
        procedure_id: str,
        if_match: int | None,
        compute: Callable[[StoredProcedure, datetime], Change | None],
        actor: str,
    ) -> Procedure:
        """Read, check If-Match, compute the change, write it conditioned on the version read; retry races.

        ``compute`` returns None for "nothing to do". Without ``if_match`` a lost race re-applies the
        change to the newer version; with it, a lost race is a 412.
        """
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            stored = self._get_live(tenant, procedure_id)
            old = stored.procedure
            if if_match is not None and old.version != if_match:
                raise self._stale(old.version, if_match)
            now = self._clock()
            change = compute(stored, now)
            if change is None:
                return old
            new, action, reason, opts = change
            new = new.model_copy(update={"update_time": now, "version": old.version + 1})
            self._check_size(new)
            vector = stored.vector
            if (
                embedding_text(new) != embedding_text(old)
                or vector is None
                or stored.embedding_model != self._embedder.model_id
            ):
                vector = self._embed(new)
            provenance = opts.pop("provenance", None)
            revision = new_revision(new, action, actor, reason, now, provenance)  # type: ignore[arg-type]
            try:
                self._repo.update(
                    tenant,
                    new,
                    old.version,
                    revision,
                    vector=vector,
                    model=self._embedder.model_id,
                    **opts,  # type: ignore[arg-type]
                )
            except VersionConflictError:
                if if_match is not None:
                    raise self._stale(old.version + 1, if_match) from None
                continue
            self._write_through(StoredProcedure(tenant, new, vector, self._embedder.model_id))
            return new
        raise ConflictError("the procedure is under heavy concurrent writes; retry the request")

    def update(
        self, tenant: str, procedure_id: str, patch: ProcedurePatch, actor: str, if_match: int | None = None
    ) -> Procedure:
        def compute(stored: StoredProcedure, now: datetime) -> Change:
            old = stored.procedure
            fields = patch.model_dump(exclude_none=True, exclude={"status"})
            new = old.model_copy(update={k: getattr(patch, k) for k in fields})
            steps_changed = patch.steps is not None and patch.steps != old.steps
            opts: dict[str, object] = {"reset_window": steps_changed, "auto_status": stored.auto_status}
            action, reason = ProcedureAction.UPDATED, None
            if patch.status is not None and patch.status != old.status:
                new = new.model_copy(update={"status": patch.status, "status_reason": f"set by {actor}"})
                action = (
                    ProcedureAction.DEPRECATED
                    if patch.status == ProcedureStatus.DEPRECATED
                    else ProcedureAction.REACTIVATED
                )
                reason = f"status set to {patch.status.value} by hand"
                opts = {"reset_window": True, "auto_status": False}
            elif steps_changed and old.status == ProcedureStatus.DEPRECATED and stored.auto_status:
                new = new.model_copy(update={"status": ProcedureStatus.ACTIVE, "status_reason": "steps changed"})
                action, reason = ProcedureAction.REACTIVATED, "steps changed: outcomes are counted afresh"
                opts["auto_status"] = True
            return new, action, reason, opts

        procedure = self._change(tenant, procedure_id, if_match, compute, actor)
        count("ProceduresUpdated")
        return procedure

    def refine(
        self, tenant: str, procedure_id: str, patch: ProcedurePatch, provenance: Provenance, actor: str, reason: str
    ) -> Procedure:
        """Learning's UPDATE: new steps/parameters from newer successful runs, provenance merged; a
        procedure the rule deprecated comes back (its steps changed, so the window restarts)."""

        def compute(stored: StoredProcedure, now: datetime) -> Change:
            old = stored.procedure
            new = old.model_copy(
                update={
                    "steps": patch.steps or old.steps,
                    "parameters": patch.parameters if patch.parameters is not None else old.parameters,
                    "provenance": merge_provenance(old.provenance, provenance),
                }
            )
            opts: dict[str, object] = {
                "reset_window": True,
                "auto_status": stored.auto_status,
                "provenance": provenance,
            }
            if old.status == ProcedureStatus.DEPRECATED and stored.auto_status:
                new = new.model_copy(
                    update={"status": ProcedureStatus.ACTIVE, "status_reason": "refined from new runs"}
                )
            return new, ProcedureAction.UPDATED, reason, opts

        return self._change(tenant, procedure_id, None, compute, actor)

    def add_pitfall(self, tenant: str, procedure_id: str, note: str, trajectory_id: str | None, actor: str) -> bool:
        """Add a pitfall note (once per trajectory; the oldest goes past MAX_PITFALLS). True when added."""
        added = False

        def compute(stored: StoredProcedure, now: datetime) -> Change | None:
            nonlocal added
            old = stored.procedure
            if trajectory_id is not None and any(p.trajectory_id == trajectory_id for p in old.pitfalls):
                return None
            pitfall = Pitfall(note=note[: limits.MAX_PITFALL_CHARS], trajectory_id=trajectory_id, time=now)
            pitfalls = [*old.pitfalls, pitfall][-limits.MAX_PITFALLS :]
            added = True
            provenance = Provenance(trajectory_ids=[trajectory_id] if trajectory_id else [])
            new = old.model_copy(
                update={"pitfalls": pitfalls, "provenance": merge_provenance(old.provenance, provenance)}
            )
            opts: dict[str, object] = {"auto_status": stored.auto_status, "provenance": provenance}
            return new, ProcedureAction.PITFALL_ADDED, pitfall.note, opts

        self._change(tenant, procedure_id, None, compute, actor)
        return added

    def delete(self, tenant: str, procedure_id: str, actor: str, if_match: int | None = None) -> None:
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            stored = self._get_live(tenant, procedure_id)
            old = stored.procedure
            if if_match is not None and old.version != if_match:
                raise self._stale(old.version, if_match)
            now = self._clock()
            gone = old.model_copy(update={"version": old.version + 1, "update_time": now})
            try:
                self._repo.tombstone(
                    tenant,
                    procedure_id,
                    old.version,
                    new_revision(gone, ProcedureAction.DELETED, actor, None, now),
                    now,
                )
            except VersionConflictError:
                if if_match is not None:
                    raise self._stale(old.version + 1, if_match) from None
                continue
            self._write_through(StoredProcedure(tenant, gone, None, None, deleted=True))
            count("ProceduresDeleted")
            return
        raise ConflictError("the procedure is under heavy concurrent writes; retry the request")

    # -- feedback -------------------------------------------------------------------------------

    def feedback(self, tenant: str, procedure_id: str, fb: Feedback, actor: str) -> Procedure:
        """Count the outcome atomically, then apply the deprecation rule (module docstring)."""
        stored = self._repo.record_outcome(tenant, procedure_id, fb.outcome == "success", self._clock())
        if stored is None or live(stored, self._clock()) is None:
            raise NotFoundError(f"procedure {procedure_id} not found")
        count("ProcedureFeedback")
        for attempt in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            if attempt:  # the last write lost a race (counters or content moved): decide again on what is stored now
                fresh = live(self._repo.get(tenant, procedure_id), self._clock())
                if fresh is None:
                    raise NotFoundError(f"procedure {procedure_id} not found")
                stored = fresh
            p, wu, ws = stored.procedure, stored.win_uses, stored.win_successes
            deprecate = should_deprecate(wu, ws)
            rate = f"{ws} of the last {wu} outcomes succeeded ({ws / wu:.0%})" if wu else "no outcomes"
            if p.status == ProcedureStatus.ACTIVE and deprecate:
                status, action = ProcedureStatus.DEPRECATED, ProcedureAction.DEPRECATED
                reason = (
                    f"deprecated by the rule: {rate}, below {limits.DEPRECATION_SUCCESS_RATE:.0%} after at least "
                    f"{limits.DEPRECATION_MIN_USES} uses" + (f"; last note: {fb.note}" if fb.note else "")
                )
            elif p.status == ProcedureStatus.DEPRECATED and stored.auto_status and not deprecate:
                status, action = ProcedureStatus.ACTIVE, ProcedureAction.REACTIVATED
                reason = f"reactivated by the rule: {rate}"
            else:
                return p
            now = self._clock()
            new = p.model_copy(
                update={"status": status, "status_reason": reason, "version": p.version + 1, "update_time": now}
            )
            try:
                self._repo.update(
                    tenant,
                    new,
                    p.version,
                    new_revision(new, action, actor, reason, now),
                    vector=stored.vector,
                    model=stored.embedding_model,
                    auto_status=True,
                    window=(wu, ws),
                )
            except VersionConflictError:
                continue
            count("ProceduresDeprecated" if status == ProcedureStatus.DEPRECATED else "ProceduresReactivated")
            self._write_through(StoredProcedure(tenant, new, stored.vector, stored.embedding_model))
            return new
        return self.get(tenant, procedure_id)

    # -- search (procedure_search.py) -----------------------------------------------------------

    def search(
        self, tenant: str, req: ProcedureSearchRequest, vector: Sequence[float] | None = None
    ) -> ProcedureSearchResponse:
        """``vector``: the query's embedding when the caller already has it (context assembly)."""
        return self._search.search(tenant, req, vector)

    def similar(self, tenant: str, scope: dict[str, str], text: str, top_k: int = 5) -> list[tuple[Procedure, float]]:
        """The scope's procedures (deprecated included) closest in meaning to ``text``, best first, with
        their semantic score ((1 + cos) / 2): for consolidating learned procedures."""
        return self._search.similar(tenant, scope, text, top_k)
