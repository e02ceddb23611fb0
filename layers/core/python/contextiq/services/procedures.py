"""Procedures: create, read, change (with revisions), delete, outcome feedback, search.

DynamoDB is the record; the vector index is written through after every versioned change and repaired
by the procedures-table stream (services/procedure_indexing.py), as for memories. Procedures live in
their own document kinds (``kind="procedure"`` / ``"trajectory"`` in the index), so memory search never
returns a procedure and procedure search never returns a memory.

Deprecation rule (docs/procedures.md): counting only the outcomes reported since the steps last
changed (the *window*), a procedure with at least ``DEPRECATION_MIN_USES`` outcomes and a success rate
below ``DEPRECATION_SUCCESS_RATE`` is deprecated by the feedback that crossed the line, with a revision
saying why. A procedure the rule deprecated becomes active again when feedback brings the window's rate
back to the threshold, or when its steps change (the window restarts). A status set by hand (PATCH) is
left alone by the rule; reactivating by hand restarts the window.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

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
from contextiq.ids import epoch, new_id, utcnow
from contextiq.models.memories import scope_key
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
    ProcedureSearchResult,
    ProcedureStats,
    ProcedureStatus,
    Provenance,
    procedure_content_size,
)
from contextiq.observability import count, logger, timed
from contextiq.stores.dynamo.procedures import StoredProcedure
from contextiq.stores.vector.base import Condition, IndexedMemory, SearchQuery, VectorIndex

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SUCCESS_WEIGHT = 0.02  # relevance + 0.02 * (smoothed success rate - 0.5): reorders only near-equal relevance


def procedure_filters(kinds: Sequence[str], statuses: Sequence[str]) -> tuple[Condition, ...]:
    """Index attribute filters: a procedure is indexed with ``procedure_kind`` and ``status`` attributes."""
    return (Condition("procedure_kind", tuple(kinds)), Condition("status", tuple(statuses)))


def index_text(p: Procedure) -> str:
    """What search matches: name, description (when to use it) and the steps."""
    steps = "\n".join(s.instruction + (f" ({s.tool})" if s.tool else "") for s in p.steps)
    # "{origin}" -> "origin": the braces only split the word apart for the embedding model and BM25
    return _PLACEHOLDER.sub(r"\1", f"{p.name}\n{p.description}\n{steps}")


def embedding_text(p: Procedure) -> str:
    """What the vector encodes: the name and the description (when to use it), which is what a task
    request paraphrases; the steps stay in the keyword text (``index_text``)."""
    return _PLACEHOLDER.sub(r"\1", f"{p.name}\n{p.description}")


def should_deprecate(win_uses: int, win_successes: int) -> bool:
    return win_uses >= limits.DEPRECATION_MIN_USES and win_successes / win_uses < limits.DEPRECATION_SUCCESS_RATE


def smoothed_success(stats: ProcedureStats) -> float:
    """Laplace-smoothed success rate: 0.5 for an unused procedure, moving towards the observed rate."""
    return (stats.successes + 1) / (stats.uses + 2)


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


def indexed_procedure(stored: StoredProcedure) -> IndexedMemory:
    p = stored.procedure
    assert stored.vector is not None
    return IndexedMemory(
        tenant=stored.tenant,
        memory_id=p.id,
        scope_key=scope_key(p.scope),
        fact=index_text(p),
        topics=(),
        attrs={"procedure_kind": (p.kind.value,), "status": (p.status.value,)},
        kind="procedure",
        vector=stored.vector,
        version=p.version,
        expire_at=epoch(p.expire_time) if p.expire_time else None,
    )


def apply_procedure_to_index(index: VectorIndex, stored: StoredProcedure) -> None:
    if stored.deleted or stored.vector is None:
        index.delete(stored.tenant, stored.procedure.id, stored.procedure.version)
    else:
        index.upsert([indexed_procedure(stored)])


def _revision(
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


class ProcedureService:
    MAX_ATTEMPTS = 8

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

    # -- reads ----------------------------------------------------------------------------------

    @staticmethod
    def _live(stored: StoredProcedure | None, now: datetime) -> StoredProcedure | None:
        if stored is None or stored.deleted:
            return None
        expire = stored.procedure.expire_time
        return None if expire and expire <= now else stored

    def _get_live(self, tenant: str, procedure_id: str) -> StoredProcedure:
        stored = self._live(self._repo.get(tenant, procedure_id), self._clock())
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
        revision = _revision(p, ProcedureAction.CREATED, actor, reason, now, provenance)
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
        for attempt in range(self.MAX_ATTEMPTS):
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
            revision = _revision(new, action, actor, reason, now, provenance)  # type: ignore[arg-type]
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
                self._sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))
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
        for attempt in range(self.MAX_ATTEMPTS):
            stored = self._get_live(tenant, procedure_id)
            old = stored.procedure
            if if_match is not None and old.version != if_match:
                raise self._stale(old.version, if_match)
            now = self._clock()
            gone = old.model_copy(update={"version": old.version + 1, "update_time": now})
            try:
                self._repo.tombstone(
                    tenant, procedure_id, old.version, _revision(gone, ProcedureAction.DELETED, actor, None, now), now
                )
            except VersionConflictError:
                if if_match is not None:
                    raise self._stale(old.version + 1, if_match) from None
                self._sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))
                continue
            self._write_through(StoredProcedure(tenant, gone, None, None, deleted=True))
            count("ProceduresDeleted")
            return
        raise ConflictError("the procedure is under heavy concurrent writes; retry the request")

    # -- feedback -------------------------------------------------------------------------------

    def feedback(self, tenant: str, procedure_id: str, fb: Feedback, actor: str) -> Procedure:
        """Count the outcome atomically, then apply the deprecation rule (module docstring)."""
        stored = self._repo.record_outcome(tenant, procedure_id, fb.outcome == "success", self._clock())
        if stored is None or self._live(stored, self._clock()) is None:
            raise NotFoundError(f"procedure {procedure_id} not found")
        count("ProcedureFeedback")
        for attempt in range(self.MAX_ATTEMPTS):
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
                    _revision(new, action, actor, reason, now),
                    vector=stored.vector,
                    model=stored.embedding_model,
                    auto_status=True,
                    window=(wu, ws),
                )
            except VersionConflictError:  # counters or content moved: decide again on what is stored now
                self._sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))
                fresh = self._live(self._repo.get(tenant, procedure_id), self._clock())
                if fresh is None:
                    raise NotFoundError(f"procedure {procedure_id} not found") from None
                stored = fresh
                continue
            count("ProceduresDeprecated" if status == ProcedureStatus.DEPRECATED else "ProceduresReactivated")
            self._write_through(StoredProcedure(tenant, new, stored.vector, stored.embedding_model))
            return new
        return self.get(tenant, procedure_id)

    # -- search ---------------------------------------------------------------------------------

    def _query(self, tenant: str, req: ProcedureSearchRequest, fetch: int) -> list[tuple[StoredProcedure, float]]:
        now = self._clock()
        kinds = [req.kind.value] if req.kind else ["workflow", "skill"]
        statuses = ["active", "deprecated"] if req.include_deprecated else ["active"]
        vector = None if req.mode == "keyword" else self._embedder.embed_query(req.query)
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
            stored = self._live(records.get(hit.memory_id), now)
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

    def search(self, tenant: str, req: ProcedureSearchRequest) -> ProcedureSearchResponse:
        fetch = min(limits.MAX_TOP_K, max(3 * req.top_k, 20))
        with timed("ProcedureSearchLatency"):
            found = self._query(tenant, req, fetch)
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
            stored = self._live(records.get(hit.memory_id), now)
            if stored is not None and stored.procedure.scope == scope:
                out.append((stored.procedure, hit.score))
        return out
