"""MemoryService at its boundary, on the in-memory repository and index: races, retries, expiry."""

from __future__ import annotations

import pytest

from contextiq import limits
from contextiq.ai.embedders.hashing import HashingEmbedder
from contextiq.errors import ConflictError, NotFoundError, PreconditionFailedError
from contextiq.models.memories import MemoryCreate, MemoryPatch, SearchRequest
from contextiq.services.memories import MemoryService
from tests.fakes import FakeClock, FakeMemoryRepository, FakeVectorIndex, Sleeps

T = "tenant-a"
SCOPE = {"user_id": "u"}


@pytest.fixture
def repo() -> FakeMemoryRepository:
    return FakeMemoryRepository()


@pytest.fixture
def index() -> FakeVectorIndex:
    return FakeVectorIndex()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(repo: FakeMemoryRepository, index: FakeVectorIndex, clock: FakeClock, sleeps: Sleeps) -> MemoryService:
    return MemoryService(repo, HashingEmbedder(64), index, clock=clock, sleep=sleeps)


def _create(svc: MemoryService, fact: str, **kw: object) -> str:
    return svc.create(T, MemoryCreate.model_validate({"scope": SCOPE, "fact": fact, **kw}), "apikey:k").id


def test_an_update_that_loses_a_race_is_reapplied_to_the_newer_version(svc, repo, index, sleeps) -> None:  # type: ignore[no-untyped-def]
    mid = _create(svc, "Ann lives in Rome")

    def rival_wins_once() -> None:
        repo.before_write = None
        svc.update(T, mid, MemoryPatch(fact="Ann lives in Milan"), "apikey:rival")

    repo.before_write = rival_wins_once
    mine = svc.update(T, mid, MemoryPatch(topics=["home"]), "apikey:k")
    assert mine.version == 3 and mine.fact == "Ann lives in Milan" and mine.topics == ["home"]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= MemoryService.BACKOFF.cap
    revisions, _ = svc.revisions(T, mid, 10, None)
    assert [(r.action.value, r.version) for r in revisions] == [("CREATED", 1), ("UPDATED", 2), ("UPDATED", 3)]
    assert index.versions[(T, mid)] == 3 and index.facts(T, SCOPE) == ["Ann lives in Milan"]


def test_an_update_under_if_match_is_412_when_a_rival_writes_first(svc, repo, sleeps) -> None:  # type: ignore[no-untyped-def]
    mid = _create(svc, "Ann lives in Rome")

    def rival_wins() -> None:
        repo.before_write = None
        svc.delete(T, mid, "apikey:rival")

    repo.before_write = rival_wins
    with pytest.raises(PreconditionFailedError, match="version 2, not 1"):
        svc.update(T, mid, MemoryPatch(fact="Ann lives in Oslo"), "apikey:k", if_match=1)
    assert sleeps == []
    with pytest.raises(NotFoundError):
        svc.get(T, mid)


def test_a_delete_that_always_loses_gives_up_with_409(svc, repo, sleeps) -> None:  # type: ignore[no-untyped-def]
    mid = _create(svc, "Ann likes tea")
    rival = MemoryService(repo, HashingEmbedder(64), FakeVectorIndex())
    n = 0

    def rival_always_wins() -> None:
        nonlocal n
        n += 1
        repo.before_write = None
        rival.update(T, mid, MemoryPatch(metadata={"n": n}), "apikey:rival")
        repo.before_write = rival_always_wins

    repo.before_write = rival_always_wins
    with pytest.raises(ConflictError, match="heavy concurrent writes"):
        svc.delete(T, mid, "apikey:k")
    assert len(sleeps) == MemoryService.MAX_ATTEMPTS - 1
    assert max(sleeps) <= MemoryService.BACKOFF.cap
    repo.before_write = None
    assert svc.get(T, mid).version == 1 + MemoryService.MAX_ATTEMPTS  # only the rival's writes landed


def test_creating_an_existing_id_is_409_and_changes_nothing(svc, repo) -> None:  # type: ignore[no-untyped-def]
    mid = _create(svc, "Ann likes tea")
    with pytest.raises(ConflictError, match="already exists"):
        svc.create(T, MemoryCreate(scope=SCOPE, fact="Ann likes coffee"), "apikey:k", memory_id=mid)
    assert svc.get(T, mid).fact == "Ann likes tea" and len(repo.revision_log[(T, mid)]) == 1


def test_search_never_returns_what_the_record_no_longer_holds_while_the_index_lags(  # type: ignore[no-untyped-def]
    svc, index, clock, monkeypatch
) -> None:
    keep = _create(svc, "Ann likes green tea")
    gone = _create(svc, "Ann likes green apples")
    expiring = _create(svc, "Ann likes green grapes", ttl_seconds=limits.MIN_TTL_SECONDS)
    monkeypatch.setattr(index, "delete", lambda *_a: None)  # the index misses the delete
    svc.delete(T, gone, "apikey:k")
    assert (T, gone) in index.docs
    found = svc.search(T, SearchRequest(scope=SCOPE, query="green", mode="semantic"))
    assert sorted(r.memory.id for r in found.results) == sorted([keep, expiring])
    clock.advance(limits.MIN_TTL_SECONDS)
    with pytest.raises(NotFoundError):
        svc.get(T, expiring)
    assert [m.id for m in svc.list_scope(T, SCOPE, None, 10, None)[0]] == [keep]
    assert [r.memory.id for r in svc.search(T, SearchRequest(scope=SCOPE, query="green", mode="semantic")).results] == [
        keep
    ]


def test_a_failed_write_through_leaves_the_record_written(svc, index, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def down(*_a, **_k):  # type: ignore[no-untyped-def]
        raise ConnectionError("index unavailable")

    monkeypatch.setattr(index, "upsert", down)
    mid = _create(svc, "Ann likes tea")
    assert svc.get(T, mid).fact == "Ann likes tea" and index.docs == {}  # the stream indexer repairs it


def test_another_tenant_cannot_read_or_change_a_memory(svc) -> None:  # type: ignore[no-untyped-def]
    mid = _create(svc, "Ann likes tea")
    for act in (
        lambda: svc.get("tenant-b", mid),
        lambda: svc.update("tenant-b", mid, MemoryPatch(fact="x"), "apikey:b"),
        lambda: svc.delete("tenant-b", mid, "apikey:b"),
        lambda: svc.revisions("tenant-b", mid, 10, None),
    ):
        with pytest.raises(NotFoundError):
            act()
    assert svc.get(T, mid).version == 1
