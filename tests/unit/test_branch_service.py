"""BranchService at its boundary, on in-memory repositories: checkpoint races, fork reads and limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from contextiq import limits
from contextiq.errors import InvalidInputError, NotFoundError, VersionConflictError
from contextiq.models.checkpoints import Checkpoint, CheckpointCreate, ForkCreate, StateChange, StateLog
from contextiq.models.sessions import Event, EventCreate, Session, SessionCreate
from contextiq.services.branches import BranchService
from contextiq.services.sessions import SessionService
from tests.fakes import FakeClock, FakeSessionRepository, Sleeps

T = "tenant-a"


class FakeBranchRepository:
    """``services.branches.BranchRepository`` in memory, over a FakeSessionRepository."""

    def __init__(self, sessions: FakeSessionRepository) -> None:
        self.sessions = sessions
        self.checkpoints: dict[tuple[str, str, str], Checkpoint] = {}
        self.written: list[tuple[str, int]] = []  # (kind, count) per put_fork_* call
        self.forks: dict[str, Session] = {}
        self.page_size = 2

    def state_log(self, tenant: str, session_id: str) -> StateLog:
        return StateLog(initial={})  # the sessions below start empty

    def patches(self, tenant: str, session_id: str, upto_seq: int) -> list[StateChange]:
        return []

    def event_pages(self, tenant: str, session_id: str, upto_seq: int) -> Iterator[list[tuple[Event, int | None]]]:
        events = [e for e in self.sessions.events.get((tenant, session_id), []) if e.seq <= upto_seq]
        for i in range(0, len(events), self.page_size):
            yield [(e, e.seq + 1) for e in events[i : i + self.page_size]]

    def put_checkpoint(self, tenant: str, session: Session, checkpoint: Checkpoint, max_count: int) -> None:
        self.sessions._check(tenant, session)
        self.checkpoints[(tenant, session.id, checkpoint.checkpoint_id)] = checkpoint

    def get_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> Checkpoint | None:
        return self.checkpoints.get((tenant, session_id, checkpoint_id))

    def list_checkpoints(self, tenant: str, session_id: str, limit: int, token: str | None) -> Any:
        raise NotImplementedError

    def delete_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> bool:
        return self.checkpoints.pop((tenant, session_id, checkpoint_id), None) is not None

    def put_fork_items(
        self, tenant: str, fork: Session, events: Sequence[tuple[Event, int | None]], patches: Sequence[Any] = ()
    ) -> None:
        self.written.append(("items", len(events) + len(patches)))

    def put_fork_session(self, tenant: str, fork: Session, state0: dict[str, Any] | None) -> None:
        self.written.append(("session", 1))
        self.forks[fork.id] = fork


@pytest.fixture
def env():  # type: ignore[no-untyped-def]
    repo = FakeSessionRepository()
    sleeps = Sleeps()
    sessions = SessionService(repo, clock=FakeClock(), sleep=sleeps)
    branches = FakeBranchRepository(repo)
    return sessions, branches, BranchService(sessions, branches, clock=FakeClock(), sleep=sleeps), sleeps


def _append(sessions: SessionService, sid: str, n: int) -> None:
    for i in range(n):
        body = {"author": "user", "content": {"text": f"m{i}"}, "state_delta": {"i": i}}
        sessions.append_event(T, sid, EventCreate.model_validate(body))


def test_a_checkpoint_that_loses_a_race_records_the_newer_state(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, sleeps = env
    sid = sessions.create(T, SessionCreate(user_id="u")).id
    _append(sessions, sid, 1)

    def rival_appends_once() -> None:
        branches.sessions.before_write = None
        _append(sessions, sid, 1)

    branches.sessions.before_write = rival_appends_once
    cp = svc.create_checkpoint(T, sid, CheckpointCreate())
    assert (cp.seq, cp.state, cp.version) == (2, {"i": 0}, 3) and len(sleeps) == 1


def test_a_fork_writes_its_session_last_and_checks_sizes_before_writing(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, _ = env
    sid = sessions.create(T, SessionCreate(user_id="u")).id
    _append(sessions, sid, 5)
    fork = svc.fork(T, sid, ForkCreate(at_seq=4))
    assert fork.state == {"i": 3} and fork.version == 5 and fork.event_count == 4
    assert branches.written == [("items", 4), ("session", 1)]
    branches.written.clear()
    monkeypatch.setattr(limits, "MAX_FORK_BYTES", 60)
    with pytest.raises(InvalidInputError):
        svc.fork(T, sid, ForkCreate(at_seq=5))
    assert branches.written == []  # refused whole: nothing written


def test_a_source_deleted_while_it_is_read_gives_no_fork(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, _ = env
    sid = sessions.create(T, SessionCreate(user_id="u")).id
    _append(sessions, sid, 5)
    real = branches.event_pages

    def deleted_after_first_page(tenant: str, session_id: str, upto: int):  # type: ignore[no-untyped-def]
        pages = real(tenant, session_id, upto)
        yield next(pages)
        yield [(e, v) for e, v in next(pages) if e.seq != 3]  # the delete got there first

    branches.event_pages = deleted_after_first_page
    with pytest.raises(NotFoundError, match="deleted while"):
        svc.fork(T, sid, ForkCreate(at_seq=5))
    assert branches.written == [] and branches.forks == {}


def test_checkpoint_retries_are_bounded(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, sleeps = env
    sid = sessions.create(T, SessionCreate(user_id="u")).id

    def always_conflict(*_: Any) -> None:
        raise VersionConflictError("lost")

    branches.put_checkpoint = always_conflict
    with pytest.raises(Exception, match="heavy concurrent writes"):
        svc.create_checkpoint(T, sid, CheckpointCreate())
    assert len(sleeps) == BranchService.MAX_ATTEMPTS - 1
