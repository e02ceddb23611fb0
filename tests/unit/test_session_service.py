"""SessionService at its boundary, on the in-memory repository: races, retries, expiry, paging."""

from __future__ import annotations

import pytest

from contextiq import limits
from contextiq.errors import ConflictError, NotFoundError, PayloadTooLargeError, PreconditionFailedError
from contextiq.models.sessions import EventCreate, SessionCreate, StatePatch
from contextiq.services.sessions import SessionService
from tests.fakes import FakeClock, FakeSessionRepository, Sleeps

T = "tenant-a"


@pytest.fixture
def repo() -> FakeSessionRepository:
    return FakeSessionRepository()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(repo: FakeSessionRepository, clock: FakeClock, sleeps: Sleeps) -> SessionService:
    return SessionService(repo, clock=clock, sleep=sleeps)


def _event(text: str, **kw: object) -> EventCreate:
    return EventCreate.model_validate({"author": "user", "content": {"text": text}, **kw})


def test_an_append_that_loses_a_race_retries_at_the_next_seq(svc: SessionService, repo, sleeps) -> None:  # type: ignore[no-untyped-def]
    sid = svc.create(T, SessionCreate(user_id="u", state={"a": 1})).id
    rival = SessionService(repo)  # another writer to the same session

    def rival_wins_once() -> None:
        repo.before_write = None
        rival.append_event(T, sid, _event("rival", state_delta={"b": 2}))

    repo.before_write = rival_wins_once
    mine = svc.append_event(T, sid, _event("mine", state_delta={"c": 3}))
    assert mine.seq == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= SessionService.BACKOFF.cap
    session = svc.get(T, sid)
    assert session.event_count == 2 and session.version == 3
    assert session.state == {"a": 1, "b": 2, "c": 3}  # the retry re-applied the delta to the rival's state
    assert [e.content["text"] for e in svc.all_events(T, sid)] == ["rival", "mine"]


def test_an_append_that_always_loses_gives_up_with_409(svc: SessionService, repo, sleeps) -> None:  # type: ignore[no-untyped-def]
    sid = svc.create(T, SessionCreate(user_id="u")).id
    rival = SessionService(repo)

    def rival_always_wins() -> None:
        repo.before_write = None
        rival.append_event(T, sid, _event("rival"))
        repo.before_write = rival_always_wins

    repo.before_write = rival_always_wins
    with pytest.raises(ConflictError, match="heavy concurrent writes"):
        svc.append_event(T, sid, _event("mine"))
    # one pause between attempts, none after the last; the backoff grows but stays capped
    assert len(sleeps) == SessionService.MAX_APPEND_ATTEMPTS - 1
    assert max(sleeps) <= SessionService.BACKOFF.cap
    assert all(e.content["text"] == "rival" for e in svc.all_events(T, sid))


def test_patch_state_with_if_match_is_412_when_a_rival_writes_first(svc: SessionService, repo, sleeps) -> None:  # type: ignore[no-untyped-def]
    sid = svc.create(T, SessionCreate(user_id="u", state={"a": 1})).id
    rival = SessionService(repo)

    def rival_wins() -> None:
        repo.before_write = None
        rival.patch_state(T, sid, StatePatch(set={"b": 2}), None)

    repo.before_write = rival_wins
    with pytest.raises(PreconditionFailedError):
        svc.patch_state(T, sid, StatePatch(set={"c": 3}), if_match=1)
    assert sleeps == [] and svc.get(T, sid).state == {"a": 1, "b": 2}
    repo.before_write = rival_wins
    merged = svc.patch_state(T, sid, StatePatch(set={"c": 3}, remove=["a"]), if_match=None)
    assert merged.state == {"b": 2, "c": 3} and merged.version == 4 and len(sleeps) == 1


def test_a_stale_if_match_is_412_before_any_write(svc: SessionService) -> None:
    sid = svc.create(T, SessionCreate(user_id="u")).id
    svc.append_event(T, sid, _event("x"))
    with pytest.raises(PreconditionFailedError, match="version 2, not 1"):
        svc.patch_state(T, sid, StatePatch(set={"a": 1}), if_match=1)


def test_an_expired_session_is_gone_for_every_reader(svc: SessionService, clock: FakeClock) -> None:
    sid = svc.create(T, SessionCreate(user_id="u", ttl_seconds=limits.MIN_TTL_SECONDS)).id
    svc.append_event(T, sid, _event("x"))
    clock.advance(limits.MIN_TTL_SECONDS)
    for read in (lambda: svc.get(T, sid), lambda: list(svc.all_events(T, sid))):
        with pytest.raises(NotFoundError):
            read()
    with pytest.raises(NotFoundError):
        svc.append_event(T, sid, _event("y"))
    assert svc.list_sessions(T, "u", None, 10, None) == ([], None)


def test_all_events_pages_through_and_stays_in_the_tenant(svc: SessionService) -> None:
    sid = svc.create(T, SessionCreate(user_id="u")).id
    for i in range(limits.MAX_PAGE_SIZE + 2):
        svc.append_event(T, sid, _event(f"e{i}"))
    seqs = [e.seq for e in svc.all_events(T, sid, after_seq=1)]
    assert seqs == list(range(2, limits.MAX_PAGE_SIZE + 3))
    with pytest.raises(NotFoundError):
        list(svc.all_events("tenant-b", sid))


def test_a_delta_that_would_outgrow_the_state_limit_is_refused_unwritten(svc: SessionService) -> None:
    sid = svc.create(T, SessionCreate(user_id="u")).id
    with pytest.raises(PayloadTooLargeError):
        svc.append_event(T, sid, _event("x", state_delta={"big": "x" * limits.MAX_STATE_BYTES}))
    assert svc.get(T, sid).event_count == 0
