"""Sessions: create, read, list, delete; append events with state deltas; patch state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from contextiq import limits
from contextiq.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    VersionConflictError,
)
from contextiq.ids import new_id, utcnow
from contextiq.models.checkpoints import StateChange
from contextiq.models.common import json_size
from contextiq.models.sessions import Event, EventCreate, Session, SessionCreate, StatePatch
from contextiq.observability import count
from contextiq.retry import Backoff, attempts


class SessionRepository(Protocol):
    def create(self, tenant: str, session: Session) -> None: ...
    def get(self, tenant: str, session_id: str, *, now: datetime) -> Session | None: ...
    def list_by_user(
        self, tenant: str, user_id: str, app_name: str | None, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[Session], str | None]: ...
    def replace_state(
        self,
        tenant: str,
        session: Session,
        state: dict[str, Any],
        now: datetime,
        change: StateChange | None = None,
    ) -> Session: ...
    def append(
        self, tenant: str, session: Session, event: Event, state: dict[str, Any] | None, now: datetime
    ) -> Session: ...
    def list_events(
        self, tenant: str, session_id: str, after_seq: int, limit: int, token: str | None
    ) -> tuple[list[Event], str | None]: ...
    def delete(self, tenant: str, session_id: str) -> bool: ...


def apply_state_change(state: dict[str, Any], set_: dict[str, Any], remove: Sequence[str] = ()) -> dict[str, Any]:
    """Shallow merge: keys in ``set_`` replace, keys in ``remove`` go; a ``None`` value in a delta removes."""
    merged = dict(state)
    for key, value in set_.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for key in remove:
        merged.pop(key, None)
    return merged


def _check_state_size(state: dict[str, Any], field: str) -> None:
    size = json_size(state)
    if size > limits.MAX_STATE_BYTES:
        raise PayloadTooLargeError(
            f"session state would be {size} bytes; the limit is {limits.MAX_STATE_BYTES}",
            [FieldProblem(field, f"state must stay within {limits.MAX_STATE_BYTES} bytes of JSON")],
        )


def _check_delta_size(value: Any, field: str) -> None:
    """Deltas and patches are kept in the state history, so they are bounded like what they change."""
    size = json_size(value)
    if size > limits.MAX_STATE_DELTA_BYTES:
        raise PayloadTooLargeError(
            f"{field} is {size} bytes of JSON; the limit is {limits.MAX_STATE_DELTA_BYTES}",
            [FieldProblem(field, f"at most {limits.MAX_STATE_DELTA_BYTES} bytes of JSON")],
        )


class SessionService:
    # Appends race on the session version; each retry re-reads. 50 writers to one session settle
    # within a few dozen rounds, so the cap only trips on pathological contention (-> 409, retry).
    MAX_APPEND_ATTEMPTS = 64
    BACKOFF = Backoff(base=0.005, cap=0.2)

    def __init__(
        self,
        repo: SessionRepository,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._clock = clock
        self._sleep = sleep

    def create(self, tenant: str, req: SessionCreate) -> Session:
        _check_state_size(req.state, "state")
        now = self._clock()
        expire = None
        if req.ttl_seconds:
            expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0)
        session = Session(
            id=new_id(),
            user_id=req.user_id,
            app_name=req.app_name,
            state=req.state,
            metadata=req.metadata,
            create_time=now,
            update_time=now,
            expire_time=expire,
            version=1,
            event_count=0,
            index_events=req.index_events,
            generation_policy=req.generation_policy,
        )
        self._repo.create(tenant, session)
        return session

    def get(self, tenant: str, session_id: str) -> Session:
        session = self._repo.get(tenant, session_id, now=self._clock())
        if session is None:
            raise NotFoundError(f"session {session_id} not found")
        return session

    def list_sessions(
        self, tenant: str, user_id: str, app_name: str | None, limit: int, token: str | None
    ) -> tuple[list[Session], str | None]:
        return self._repo.list_by_user(tenant, user_id, app_name, limit, token, now=self._clock())

    def delete(self, tenant: str, session_id: str) -> None:
        if not self._repo.delete(tenant, session_id):
            raise NotFoundError(f"session {session_id} not found")

    def append_event(self, tenant: str, session_id: str, req: EventCreate) -> Event:
        content = req.content.model_dump(exclude_none=True)
        size = json_size(content)
        if size > limits.MAX_EVENT_CONTENT_BYTES:
            raise PayloadTooLargeError(
                f"event content is {size} bytes; the limit is {limits.MAX_EVENT_CONTENT_BYTES}",
                [FieldProblem("content", f"at most {limits.MAX_EVENT_CONTENT_BYTES} bytes of JSON")],
            )
        if req.state_delta:
            _check_delta_size(req.state_delta, "state_delta")
        event_id = new_id()
        for _ in attempts(self.MAX_APPEND_ATTEMPTS, self.BACKOFF, self._sleep):
            now = self._clock()
            session = self.get(tenant, session_id)
            state = None
            if req.state_delta:
                state = apply_state_change(session.state, req.state_delta)
                _check_state_size(state, "state_delta")
            event = Event(
                id=event_id,
                session_id=session_id,
                seq=session.event_count + 1,
                author=req.author,
                role=req.role,
                content=content,
                timestamp=req.timestamp or now,
                metadata=req.metadata,
                state_delta=req.state_delta or None,
            )
            try:
                self._repo.append(tenant, session, event, state, now)
            except VersionConflictError:
                continue
            count("EventsAppended")
            return event
        raise ConflictError("the session is under heavy concurrent writes; retry the request")

    def list_events(
        self, tenant: str, session_id: str, after_seq: int, limit: int, token: str | None
    ) -> tuple[list[Event], str | None]:
        self.get(tenant, session_id)  # 404 for unknown, expired or another tenant's session
        return self._repo.list_events(tenant, session_id, after_seq, limit, token)

    def all_events(self, tenant: str, session_id: str, after_seq: int = 0) -> Iterator[Event]:
        """Every event after ``after_seq``, page by page (404 for a session the tenant cannot see)."""
        self.get(tenant, session_id)
        token: str | None = None
        while True:
            page, token = self._repo.list_events(tenant, session_id, after_seq, limits.MAX_PAGE_SIZE, token)
            yield from page
            if not token:
                return

    def patch_state(self, tenant: str, session_id: str, patch: StatePatch, if_match: int | None) -> Session:
        """Apply ``patch``; with ``if_match`` only onto that version (412 otherwise), else onto the latest."""
        _check_delta_size({"set": patch.set, "remove": patch.remove}, "set")
        for _ in attempts(self.MAX_APPEND_ATTEMPTS, self.BACKOFF, self._sleep):
            session = self.get(tenant, session_id)
            if if_match is not None and session.version != if_match:
                raise PreconditionFailedError(
                    f"session is at version {session.version}, not {if_match}",
                    [FieldProblem("header.If-Match", f"stale: current version is {session.version}")],
                )
            state = apply_state_change(session.state, patch.set, patch.remove)
            _check_state_size(state, "set")
            change = StateChange(session.event_count, session.version + 1, patch.set, tuple(patch.remove))
            try:
                return self._repo.replace_state(tenant, session, state, self._clock(), change)
            except VersionConflictError as err:
                if if_match is not None:
                    raise PreconditionFailedError(
                        "the session changed while the patch was applied",
                        [FieldProblem("header.If-Match", "stale")],
                    ) from err
        raise ConflictError("the session is under heavy concurrent writes; retry the request")
