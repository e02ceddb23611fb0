"""BranchService at its boundary, on in-memory repositories: checkpoint races, fork reads and limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest

from contextiq import limits
from contextiq.errors import InvalidInputError, NotFoundError, VersionConflictError
from contextiq.models.checkpoints import Checkpoint, CheckpointCreate, ForkCreate, StateChange, StateLog
from contextiq.models.policies import GenerationPolicy
from contextiq.models.sessions import Event, EventCreate, Session, SessionCreate
from contextiq.services.branches import ABANDONED_FORK_SECONDS, BranchService, generated_at_fork
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
        self.markers: dict[tuple[str, str, str], datetime] = {}  # (tenant, source, fork) -> begun
        self.discarded: list[str] = []

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
        assert fork.forked_from is not None
        self.markers.pop((tenant, fork.forked_from.session_id, fork.id), None)  # one transaction with the put

    def put_fork_marker(self, tenant: str, source: Session, fork_id: str, now: datetime) -> None:
        self.markers[(tenant, source.id, fork_id)] = now

    def fork_markers(self, tenant: str, source_id: str) -> list[tuple[str, datetime]]:
        return [(f, when) for (t, s, f), when in self.markers.items() if (t, s) == (tenant, source_id)]

    def discard_fork(self, tenant: str, source_id: str, fork_id: str) -> int:
        self.discarded.append(fork_id)
        del self.markers[(tenant, source_id, fork_id)]
        return 0 if fork_id in self.forks else 1


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


# -- forks and generation policies ---------------------------------------------------------------------

SHARED = GenerationPolicy.model_validate({"every_n_events": 5})  # scope {"user_id": "{user_id}"}
PER_SESSION = GenerationPolicy.model_validate(
    {"every_n_events": 5, "scope_template": {"user_id": "{user_id}", "session": "{session_id}"}}
)


class FakeAppPolicies:
    def __init__(self) -> None:
        self.policies: dict[tuple[str, str], GenerationPolicy] = {}

    def get(self, tenant: str, app_name: str) -> GenerationPolicy | None:
        return self.policies.get((tenant, app_name))


def _generated(repo: FakeSessionRepository, sid: str, seq: int) -> None:
    """As a policy claim does: the source has handed events 1..seq to jobs."""
    session = repo.sessions[(T, sid)]
    repo.sessions[(T, sid)] = session.model_copy(update={"last_generated_seq": seq, "last_job_id": "J"})


def test_generated_at_fork_counts_what_the_source_generated_into_a_shared_scope() -> None:
    source = Session.model_validate(
        {"id": "s", "user_id": "u", "create_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z",
         "version": 9, "event_count": 10, "last_generated_seq": 6, "app_name": None, "state": {}, "metadata": {}}
    )  # fmt: skip
    assert generated_at_fork(source, 8, SHARED) == 6  # 7 and 8 are the fork's to generate
    assert generated_at_fork(source, 4, SHARED) == 4  # all copies were generated in the source
    assert generated_at_fork(source, 8, None) == 6  # no policy now: the progress still holds if one comes
    assert generated_at_fork(source, 8, PER_SESSION) == 0  # the fork's own scope has none of them


def test_a_fork_keeps_the_sources_policy_and_its_progress(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, _ = env
    sid = sessions.create(T, SessionCreate(user_id="u", generation_policy=SHARED)).id
    _append(sessions, sid, 10)
    _generated(branches.sessions, sid, 5)
    fork = svc.fork(T, sid, ForkCreate(at_seq=8))
    assert fork.generation_policy == SHARED
    assert (fork.last_generated_seq, fork.last_job_id) == (5, None)
    assert branches.forks[fork.id].last_generated_seq == 5  # what the store writes
    assert svc.fork(T, sid, ForkCreate(at_seq=3)).last_generated_seq == 3


def test_a_fork_into_a_per_session_scope_generates_its_copies_again(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, _ = env
    sid = sessions.create(T, SessionCreate(user_id="u", generation_policy=PER_SESSION)).id
    _append(sessions, sid, 6)
    _generated(branches.sessions, sid, 5)
    fork = svc.fork(T, sid, ForkCreate(at_seq=6))
    assert fork.generation_policy == PER_SESSION and fork.last_generated_seq == 0


def test_an_app_policy_decides_for_a_fork_without_its_own(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, _, sleeps = env
    apps = FakeAppPolicies()
    svc = BranchService(sessions, branches, clock=FakeClock(), sleep=sleeps, app_policies=apps)
    sid = sessions.create(T, SessionCreate(user_id="u", app_name="travel")).id
    _append(sessions, sid, 6)
    _generated(branches.sessions, sid, 5)
    assert svc.fork(T, sid, ForkCreate(at_seq=6)).last_generated_seq == 5  # no policy: progress kept
    apps.policies[(T, "travel")] = PER_SESSION
    fork = svc.fork(T, sid, ForkCreate(at_seq=6))
    assert fork.generation_policy is None and fork.last_generated_seq == 0
    apps.policies[("tenant-b", "travel")] = SHARED  # another tenant's policy of the same app name: not ours
    assert svc.fork(T, sid, ForkCreate(at_seq=6)).last_generated_seq == 0


# -- forks that do not finish --------------------------------------------------------------------------


def test_a_fork_failing_within_the_request_deletes_what_it_wrote(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, svc, _ = env
    sid = sessions.create(T, SessionCreate(user_id="u")).id
    _append(sessions, sid, 4)

    def fails(*_: Any) -> None:
        raise RuntimeError("DynamoDB went away")

    branches.put_fork_session = fails
    with pytest.raises(RuntimeError, match="went away"):
        svc.fork(T, sid, ForkCreate(at_seq=4))
    assert len(branches.discarded) == 1 and branches.markers == {} and branches.forks == {}


def test_a_fork_whose_process_died_is_discarded_by_the_next_sweep(env) -> None:  # type: ignore[no-untyped-def]
    sessions, branches, _, sleeps = env
    clock = FakeClock()
    svc = BranchService(sessions, branches, clock=clock, sleep=sleeps)
    sid = sessions.create(T, SessionCreate(user_id="u")).id
    _append(sessions, sid, 4)

    class Died(BaseException):  # the process is killed: no except clause of the service runs
        pass

    def dies(*_: Any) -> None:
        raise Died

    real = branches.put_fork_items
    branches.put_fork_items = dies
    with pytest.raises(Died):
        svc.fork(T, sid, ForkCreate(at_seq=4))
    branches.put_fork_items = real
    ((_, _, dead),) = branches.markers
    assert branches.discarded == []

    fork = svc.fork(T, sid, ForkCreate(at_seq=2))  # soon after: the dead fork may still be under way
    assert branches.discarded == [] and set(branches.forks) == {fork.id}
    clock.advance(ABANDONED_FORK_SECONDS + 1)
    svc.fork(T, sid, ForkCreate(at_seq=2))  # later: the next fork of the source sweeps it
    assert branches.discarded == [dead] and branches.markers == {}
    assert svc.sweep_abandoned_forks(T, sid) == 0  # nothing left
