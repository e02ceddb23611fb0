"""The Python SDK against a real `contextiq local` (faults are injected in the transport, the server is real)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from contextiq.local.runtime import free_port
from contextiq_sdk import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConfigurationError,
    InvalidInputError,
    JobStatus,
    NotFoundError,
    PreconditionFailedError,
)
from contextiq_sdk.models import RevisionAction
from tests.e2e.conftest import Server

from .conftest import KEY_A, KEY_B


class LoseFirstAnswer(httpx.BaseTransport):
    """Forwards every request; the first answer is thrown away as if the connection dropped."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.requests.append(request)
        if len(self.requests) == 1:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


class ThrottleFirst(httpx.BaseTransport):
    """Answers the first request 429 with a Retry-After, then forwards."""

    def __init__(self, retry_after: str) -> None:
        self.inner, self.retry_after, self.calls = httpx.HTTPTransport(), retry_after, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 1:
            problem = {"type": "about:blank", "title": "Too many requests", "status": 429, "detail": "slow down"}
            return httpx.Response(429, headers={"Retry-After": self.retry_after}, json=problem)
        return self.inner.handle_request(request)


@pytest.fixture
def sdk(live: Server) -> Client:
    with Client(live.url, KEY_A) as c:
        yield c


def test_sessions_events_and_state(sdk: Client, uid: str) -> None:
    session = sdk.sessions.create(uid, "travel", state={"a": 1}, metadata={"k": "v"})
    assert (session.user_id, session.app_name, session.state, session.version) == (uid, "travel", {"a": 1}, 1)
    for i in range(5):
        sdk.events.append(session.id, "user", f"turn {i}", role="user", state_delta={"turn": i} if i == 4 else None)
    events = list(sdk.events.iter(session.id, page_size=2))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].text == "turn 0"
    assert [e.seq for e in sdk.events.list(session.id, after_seq=3).items] == [4, 5]

    got = sdk.sessions.get(session.id)
    assert (got.state, got.event_count) == ({"a": 1, "turn": 4}, 5)
    patched = sdk.sessions.patch_state(session.id, {"theme": "dark"}, ["a"], version=got.version)
    assert patched.state == {"turn": 4, "theme": "dark"}
    with pytest.raises(PreconditionFailedError) as stale:
        sdk.sessions.patch_state(session.id, {"x": 1}, version=got.version)
    assert stale.value.status == 412
    assert stale.value.errors[0].field == "header.If-Match"

    second = sdk.sessions.create(uid, "travel")
    page = sdk.sessions.list(uid, limit=1)
    assert len(page.items) == 1 and page.next_token
    assert {s.id for s in sdk.sessions.iter(uid, page_size=1)} == {session.id, second.id}
    sdk.sessions.delete(session.id)
    with pytest.raises(NotFoundError):
        sdk.sessions.get(session.id)


def test_memories_versions_revisions_search_and_tenancy(sdk: Client, live: Server, uid: str) -> None:
    scope = {"user_id": uid}
    memory = sdk.memories.add(scope, "prefers aisle seats on long flights", topics=["travel"])
    sdk.memories.add(scope, "is allergic to peanuts")
    assert sdk.memories.get(memory.id).fact == "prefers aisle seats on long flights"
    updated = sdk.memories.update(memory.id, fact="prefers window seats on long flights", version=memory.version)
    assert updated.version == memory.version + 1
    with pytest.raises(PreconditionFailedError):
        sdk.memories.update(memory.id, fact="stale", version=memory.version)
    assert [r.action for r in sdk.memories.iter_revisions(memory.id, page_size=1)] == [
        RevisionAction.CREATED,
        RevisionAction.UPDATED,
    ]
    assert len(list(sdk.memories.iter(scope, page_size=1))) == 2
    assert [m.id for m in sdk.memories.list(scope, topic="travel").items] == [memory.id]

    hits = sdk.memories.search(scope, "window seats on flights", top_k=1).results
    assert hits[0].memory.id == memory.id and hits[0].score > 0

    with Client(live.url, KEY_B) as other:  # another tenant's ids answer 404, its scope is empty
        with pytest.raises(NotFoundError):
            other.memories.get(memory.id)
        assert other.memories.list(scope).items == []

    sdk.memories.delete(memory.id, version=updated.version)
    with pytest.raises(NotFoundError) as gone:
        sdk.memories.get(memory.id)
    assert gone.value.type.endswith("not-found") and gone.value.instance == f"/v1/memories/{memory.id}"


def test_generate_and_wait(sdk: Client, uid: str) -> None:
    session = sdk.sessions.create(uid)
    sdk.events.append(session.id, "user", "Hi, I am vegetarian and I live in Lisbon.", role="user")
    job = sdk.memories.generate(session_id=session.id, wait=True, timeout=60)
    assert job.status is JobStatus.SUCCEEDED and job.result and job.result.added >= 1
    started = sdk.memories.generate(facts=["likes green tea"], scope={"user_id": uid})
    assert sdk.jobs.get(started.id).id == started.id
    assert sdk.jobs.wait(started.id, timeout=60).status is JobStatus.SUCCEEDED
    facts = {m.fact for m in sdk.memories.iter({"user_id": uid})}
    assert any("green tea" in f for f in facts)


def test_problem_fields_on_invalid_input_and_bad_key(sdk: Client, live: Server, uid: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        sdk.memories.add({}, "a fact")
    assert err.value.status == 422 and err.value.title == "Invalid input"
    assert [e.field for e in err.value.errors] == ["scope"]
    with Client(live.url, "not-a-key") as bad, pytest.raises(AuthenticationError):
        bad.sessions.list(uid)


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(live: Server, uid: str) -> None:
    transport = LoseFirstAnswer()
    with Client(live.url, KEY_A, transport=transport) as c:
        c._sleep = lambda _s: None
        session = c.sessions.create(uid)
        keys = [r.headers["Idempotency-Key"] for r in transport.requests]
        assert len(keys) == 2 and keys[0] == keys[1]
    with Client(live.url, KEY_A) as c:
        assert [s.id for s in c.sessions.iter(uid)] == [session.id]  # written once


def test_a_delete_whose_answer_was_lost_succeeds(sdk: Client, live: Server, uid: str) -> None:
    memory = sdk.memories.add({"user_id": uid}, "temporary")
    with Client(live.url, KEY_A, transport=LoseFirstAnswer()) as c:
        c._sleep = lambda _s: None
        c.memories.delete(memory.id)
    with pytest.raises(NotFoundError):
        sdk.memories.get(memory.id)


def test_429_honours_retry_after_and_connection_errors_give_up(live: Server, uid: str) -> None:
    slept: list[float] = []
    with Client(live.url, KEY_A, transport=ThrottleFirst("2")) as c:
        c._sleep = slept.append
        assert c.sessions.list(uid).items == []
    assert slept == [2.0]

    slept.clear()
    with Client(f"http://127.0.0.1:{free_port()}", KEY_A, max_retries=2) as c:
        c._sleep = slept.append
        with pytest.raises(APIConnectionError):
            c.sessions.get("x")
    assert len(slept) == 2 and 0 < slept[0] <= 0.25 and slept[1] <= 0.5


def test_configuration_from_env_then_local_state(
    live: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    monkeypatch.delenv("CONTEXTIQ_URL", raising=False)
    monkeypatch.delenv("CONTEXTIQ_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        Client()
    (tmp_path / ".contextiq").mkdir()
    (tmp_path / ".contextiq" / "local.json").write_text(json.dumps({"url": live.url, "api_key": KEY_A}))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    with Client() as c:
        assert c.sessions.list(uid).items == []
    monkeypatch.setenv("CONTEXTIQ_API_KEY", "not-a-key")
    with Client() as c, pytest.raises(AuthenticationError):  # the environment wins over the local state
        c.sessions.list(uid)


def test_async_client(live: Server, uid: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(live.url, KEY_A) as c:
            session = await c.sessions.create(uid, "travel")
            for text in ("I am vegetarian.", "I live in Porto."):
                await c.events.append(session.id, "user", text, role="user")
            assert [e.seq async for e in c.events.iter(session.id, page_size=1)] == [1, 2]
            job = await c.memories.generate(session_id=session.id, wait=True, timeout=60)
            assert job.status is JobStatus.SUCCEEDED
            memories = [m async for m in c.memories.iter({"user_id": uid})]
            assert memories
            hits = await c.memories.search({"user_id": uid}, "where does the user live?")
            assert hits.results
            first = memories[0]
            await c.memories.update(first.id, fact=first.fact + " (checked)", version=first.version)
            with pytest.raises(PreconditionFailedError):
                await c.memories.delete(first.id, version=first.version)
            await c.sessions.delete(session.id)
            with pytest.raises(NotFoundError):
                await c.sessions.get(session.id)

    asyncio.run(scenario())


def test_event_time_and_search_window(sdk: Client, uid: str) -> None:
    from datetime import UTC, datetime

    scope = {"user_id": uid}
    old = sdk.memories.add(scope, "lived in Rome", event_time=datetime(2020, 1, 1, tzinfo=UTC))
    new = sdk.memories.add(scope, "lives in Berlin")
    assert old.event_time.year == 2020
    found = sdk.memories.search(scope, "lived lives Rome Berlin", after=datetime(2021, 1, 1, tzinfo=UTC))
    assert [r.memory.id for r in found.results] == [new.id]
    tagged = sdk.memories.add(scope, "lives in Berlin near the river", metadata={"source": "chat", "n": 3})
    filtered = sdk.memories.search(scope, "lives in Berlin", filter={"metadata.source": "chat"})
    assert [r.memory.id for r in filtered.results] == [tagged.id]
    ranged = sdk.memories.search(scope, "lives in Berlin", filter={"metadata.n": {"gte": 4}})
    assert ranged.results == []


def test_events_search_and_recall(sdk: Client, uid: str) -> None:
    import time

    session = sdk.sessions.create(uid, "travel")
    sdk.events.append(session.id, "user", "We booked the ferry to Santorini for June.", role="user")
    memory = sdk.memories.add({"user_id": uid}, "prefers a ferry to a flight")
    deadline = time.monotonic() + 60  # events are indexed from the sessions stream, asynchronously
    while not (hits := sdk.events.search(uid, "ferry Santorini", app_name="travel").results):
        assert time.monotonic() < deadline, "the event was never indexed"
        time.sleep(0.3)
    assert hits[0].event.session_id == session.id and hits[0].event.seq == 1

    fused = sdk.recall({"user_id": uid}, "ferry", top_k=5)
    assert {r.type for r in fused.results} == {"memory", "event"}
    assert memory.id in {r.memory.id for r in fused.results if r.memory}
    only = sdk.recall({"user_id": uid}, "ferry", sources=["memory"])
    assert [r.type for r in only.results] == ["memory"]
