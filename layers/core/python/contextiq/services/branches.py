"""Checkpoints and forks of a session (the branches of its history).

A checkpoint records the session's state exactly as it was at its last seq. A fork is a new session
whose events are copies (new ids, each naming the event it came from) of the source's events up to a
checkpoint or a seq, and whose state is the source's state at that point: the checkpoint's, or the one
the state history rebuilds (services/state_history.py). The copies make a fork independent: appends to
either side, and deleting the source, leave the other whole.

Generation policies: a fork keeps the source's own policy, and counts as generated what the source had
already handed to a policy job (``generated_at_fork``), so its copies are not extracted twice into the
same scope. A fork abandoned half-way (the process died between the copies and the session item) is
found by its marker and its items deleted (``sweep_abandoned_forks``). See docs/sessions.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from contextiq import limits
from contextiq.errors import ConflictError, FieldProblem, InvalidInputError, NotFoundError, VersionConflictError
from contextiq.ids import new_id, utcnow
from contextiq.models.checkpoints import Checkpoint, CheckpointCreate, ForkCreate, StateChange, StateLog
from contextiq.models.common import json_size
from contextiq.models.policies import GenerationPolicy, template_placeholders
from contextiq.models.sessions import Event, EventSource, ForkOrigin, Session
from contextiq.observability import count, logger
from contextiq.retry import Backoff, attempts
from contextiq.services.sessions import SessionService
from contextiq.services.state_history import StateReplay


class BranchRepository(Protocol):
    def state_log(self, tenant: str, session_id: str) -> StateLog: ...
    def patches(self, tenant: str, session_id: str, upto_seq: int) -> list[StateChange]: ...
    def event_pages(self, tenant: str, session_id: str, upto_seq: int) -> Iterator[list[tuple[Event, int | None]]]: ...
    def put_checkpoint(self, tenant: str, session: Session, checkpoint: Checkpoint, max_count: int) -> None: ...
    def get_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> Checkpoint | None: ...
    def list_checkpoints(
        self, tenant: str, session_id: str, limit: int, token: str | None
    ) -> tuple[list[Checkpoint], str | None]: ...
    def delete_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> bool: ...
    def put_fork_items(
        self,
        tenant: str,
        fork: Session,
        events: Sequence[tuple[Event, int | None]],
        patches: Sequence[StateChange] = (),
    ) -> None: ...
    def put_fork_session(self, tenant: str, fork: Session, state0: dict[str, Any] | None) -> None: ...
    def put_fork_marker(self, tenant: str, source: Session, fork_id: str, now: datetime) -> None: ...
    def fork_markers(self, tenant: str, source_id: str) -> list[tuple[str, datetime]]: ...
    def discard_fork(self, tenant: str, source_id: str, fork_id: str) -> int: ...


class AppPolicies(Protocol):
    def get(self, tenant: str, app_name: str) -> GenerationPolicy | None: ...


# A fork request ends within API Gateway's 29 s (the function's timeout too); a marker this old names a fork
# whose process died before its session item was written.
ABANDONED_FORK_SECONDS = 900


def generated_at_fork(source: Session, upto: int, policy: GenerationPolicy | None) -> int:
    """The fork's ``last_generated_seq``: how many of its copied events count as already generated.

    The source's jobs put the facts of its events 1..``source.last_generated_seq`` into the policy's scope.
    When that scope is shared by the fork (the template does not name ``{session_id}``), the copies of
    those events count as generated, so they are not extracted again. When the scope is per session, the
    fork's scope has none of them: its copies count from zero, like appended events.
    """
    if policy is not None and "session_id" in template_placeholders(policy.scope_template):
        return 0
    return min(source.last_generated_seq, upto)


class BranchService:
    MAX_ATTEMPTS = 64
    BACKOFF = Backoff(base=0.005, cap=0.2)

    def __init__(
        self,
        sessions: SessionService,
        repo: BranchRepository,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        app_policies: AppPolicies | None = None,
    ) -> None:
        self._sessions = sessions
        self._repo = repo
        self._app_policies = app_policies
        self._clock = clock
        self._sleep = sleep

    # -- checkpoints ----------------------------------------------------------------------------

    def create_checkpoint(self, tenant: str, session_id: str, req: CheckpointCreate) -> Checkpoint:
        checkpoint_id = new_id()
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            session = self._sessions.get(tenant, session_id)
            checkpoint = Checkpoint(
                checkpoint_id=checkpoint_id,
                session_id=session.id,
                name=req.name,
                metadata=req.metadata,
                seq=session.event_count,
                state=session.state,
                version=session.version,
                create_time=self._clock(),
                expire_time=session.expire_time,
            )
            try:
                self._repo.put_checkpoint(tenant, session, checkpoint, limits.MAX_CHECKPOINTS_PER_SESSION)
            except VersionConflictError:
                continue  # an append or patch came between the read and the write: take the new state
            count("CheckpointsCreated")
            return checkpoint
        raise ConflictError("the session is under heavy concurrent writes; retry the request")

    def get_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> Checkpoint:
        self._sessions.get(tenant, session_id)  # 404 for unknown, expired or another tenant's session
        checkpoint = self._repo.get_checkpoint(tenant, session_id, checkpoint_id)
        if checkpoint is None:
            raise NotFoundError(f"checkpoint {checkpoint_id} not found in session {session_id}")
        return checkpoint

    def list_checkpoints(
        self, tenant: str, session_id: str, limit: int, token: str | None
    ) -> tuple[list[Checkpoint], str | None]:
        self._sessions.get(tenant, session_id)
        return self._repo.list_checkpoints(tenant, session_id, limit, token)

    def delete_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> None:
        self._sessions.get(tenant, session_id)
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            try:
                if not self._repo.delete_checkpoint(tenant, session_id, checkpoint_id):
                    raise NotFoundError(f"checkpoint {checkpoint_id} not found in session {session_id}")
                return
            except VersionConflictError:
                continue
        raise ConflictError("the session is under heavy concurrent writes; retry the request")

    # -- forks ----------------------------------------------------------------------------------

    def fork(self, tenant: str, session_id: str, req: ForkCreate) -> Session:
        source = self._sessions.get(tenant, session_id)
        self.sweep_abandoned_forks(tenant, session_id)
        checkpoint = self._checkpoint_for(tenant, session_id, req)
        upto = checkpoint.seq if checkpoint else int(req.at_seq or 0)
        where = "checkpoint_id" if checkpoint else "at_seq"
        if upto > source.event_count:
            raise InvalidInputError(
                f"at_seq {upto} is past the session's last seq ({source.event_count})",
                [FieldProblem(where, f"at most {source.event_count}, the session's last seq")],
            )
        if upto > limits.MAX_FORK_EVENTS:
            raise InvalidInputError(
                f"a fork copies at most {limits.MAX_FORK_EVENTS} events; this one would copy {upto}",
                [FieldProblem(where, f"the fork point must be at seq {limits.MAX_FORK_EVENTS} or earlier")],
            )
        log = self._repo.state_log(tenant, session_id)
        replay: StateReplay | None = None
        if log.initial is not None:
            patches = self._repo.patches(tenant, session_id, upto)
            replay = StateReplay(log.initial, patches, checkpoint.version if checkpoint else None)
        elif checkpoint is None and upto != source.event_count:
            raise ConflictError(
                f"session {session_id} was created before its state history was kept, so its state at seq {upto} "
                f"is unknown; fork it at its last seq ({source.event_count}) or from a checkpoint",
                [FieldProblem("at_seq", f"only {source.event_count} (the last seq) for this session")],
            )

        now = self._clock()
        expire = source.expire_time
        if req.ttl_seconds:
            expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0)
        fork = Session(
            id=new_id(),
            user_id=source.user_id,
            app_name=source.app_name,
            state={},
            metadata=source.metadata if req.metadata is None else req.metadata,
            create_time=now,
            update_time=now,
            expire_time=expire,
            version=1,
            event_count=upto,
            forked_from=ForkOrigin(
                session_id=session_id, seq=upto, checkpoint_id=checkpoint.checkpoint_id if checkpoint else None
            ),
            index_events=source.index_events,  # a session kept out of the event index stays out in its forks
            generation_policy=source.generation_policy,  # the source's own policy, if it has one
        )
        fork = fork.model_copy(
            update={"last_generated_seq": generated_at_fork(source, upto, self._effective_policy(tenant, fork))}
        )
        copies, last_version = self._read_events(tenant, session_id, fork.id, upto, replay, where)

        state0 = log.initial
        if checkpoint is not None:
            state, version = checkpoint.state, checkpoint.version
            if replay is not None and replay.finish() != checkpoint.state:
                # Cannot happen unless the stored history was altered: the fork keeps the checkpoint's
                # state (which is exact) and no history of its own, rather than one that disagrees.
                logger.error("state history disagrees with checkpoint", extra={"checkpoint": checkpoint.checkpoint_id})
                state0, replay = None, None
        elif replay is not None:
            state = replay.finish()
            version = max([last_version or 1] + [p.version for p in replay.kept_patches])
        else:
            state, version = source.state, source.version  # at the last seq, read with the session
        fork = fork.model_copy(update={"state": state, "version": version})
        self._repo.put_fork_marker(tenant, source, fork.id, now)  # found again if this process dies midway
        try:
            self._repo.put_fork_items(tenant, fork, copies, replay.kept_patches if replay is not None else ())
            self._repo.put_fork_session(tenant, fork, state0 if replay is not None else None)
        except Exception:
            self._discard_quietly(tenant, session_id, fork.id)
            raise
        count("SessionsForked")
        return fork

    def sweep_abandoned_forks(self, tenant: str, source_id: str, older_than: float | None = None) -> int:
        """Delete the items of forks of ``source_id`` begun more than ``older_than`` seconds ago and never
        finished (their marker is still there); returns how many forks were discarded. Run before each fork
        of the source and before the source is deleted (its markers go with it)."""
        age = ABANDONED_FORK_SECONDS if older_than is None else older_than
        cutoff = self._clock() - timedelta(seconds=age)
        discarded = 0
        for fork_id, begun in self._repo.fork_markers(tenant, source_id):
            if begun <= cutoff:
                removed = self._repo.discard_fork(tenant, source_id, fork_id)
                logger.warning("abandoned fork discarded", extra={"fork_id": fork_id, "items": removed})
                count("AbandonedForksDiscarded")
                discarded += 1
        return discarded

    def _discard_quietly(self, tenant: str, source_id: str, fork_id: str) -> None:
        """A fork that failed within the request: delete what it wrote now (if this fails too, the marker
        stays and the next sweep does it)."""
        try:
            self._repo.discard_fork(tenant, source_id, fork_id)
        except Exception:
            logger.exception("could not discard a failed fork", extra={"fork_id": fork_id})

    def _effective_policy(self, tenant: str, session: Session) -> GenerationPolicy | None:
        """As PolicyEngine.effective: the session's own policy, else its app's, else none."""
        if session.generation_policy is not None:
            return session.generation_policy
        if session.app_name is None or self._app_policies is None:
            return None
        return self._app_policies.get(tenant, session.app_name)

    def _checkpoint_for(self, tenant: str, session_id: str, req: ForkCreate) -> Checkpoint | None:
        if req.checkpoint_id is None:
            return None
        checkpoint = self._repo.get_checkpoint(tenant, session_id, req.checkpoint_id)
        if checkpoint is None:
            raise NotFoundError(
                f"checkpoint {req.checkpoint_id} not found in session {session_id}",
                [FieldProblem("checkpoint_id", "no such checkpoint in this session")],
            )
        return checkpoint

    def _read_events(
        self, tenant: str, source_id: str, fork_id: str, upto: int, replay: StateReplay | None, where: str
    ) -> tuple[list[tuple[Event, int | None]], int | None]:
        """The copies of events 1..``upto`` (each with its version), read before anything is written so
        an over-size fork is refused whole; returns them and the last one's version."""
        copies: list[tuple[Event, int | None]] = []
        size, version = 0, None
        for page in self._repo.event_pages(tenant, source_id, upto):
            for event, version in page:
                if event.seq != len(copies) + 1:
                    # Events are never removed one by one: a gap means the source was deleted meanwhile.
                    raise NotFoundError(f"session {source_id} was deleted while it was being forked")
                size += json_size([event.content, event.metadata, event.state_delta])
                if size > limits.MAX_FORK_BYTES:
                    raise InvalidInputError(
                        f"the events up to seq {upto} hold more than {limits.MAX_FORK_BYTES} bytes of JSON, "
                        "the most one fork copies; fork at an earlier point",
                        [FieldProblem(where, f"at most {limits.MAX_FORK_BYTES} bytes of events before the point")],
                    )
                if replay is not None:
                    replay.event(event)
                source = EventSource(session_id=source_id, event_id=event.id)
                copies.append(
                    (event.model_copy(update={"id": new_id(), "session_id": fork_id, "source": source}), version)
                )
        if len(copies) != upto:
            raise NotFoundError(f"session {source_id} was deleted while it was being forked")
        return copies, version
