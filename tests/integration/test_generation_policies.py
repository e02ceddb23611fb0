"""Generation policies on moto over HTTP (TestClient): appends reach functions/generation_policy through
the sessions table's stream (local/streams.py), jobs go through the real extraction and consolidation
handlers; the idle check goes through the delayed queue and the same function."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
FACTS = [
    "I am vegetarian.",
    "I live in Lisbon.",
    "My favourite colour is green.",
    "I work as a nurse.",
    "I have a dog called Max.",
]


@pytest.fixture
def pipeline(container, monkeypatch) -> Iterator[Callable[[], None]]:  # type: ignore[no-untyped-def]
    """run(): the streams (indexer + policy) and the generation queues, until nothing moves."""
    from contextiq.local import workers as local_workers
    from contextiq.local.inprocess import forget_handlers, generation_queues, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    forget_handlers()
    monkeypatch.setattr(local_workers, "RETRY_AFTER_SECONDS", 0)
    pollers = StreamPoller.all_for_settings(container.settings, container.dynamodb)
    queues = generation_queues(container.settings)

    def run() -> None:
        for _ in range(8):
            local_workers.drain(container.sqs, queues)
            if not sum(p.drain() for p in pollers):
                return

    yield run
    forget_handlers()


@pytest.fixture
def claims(monkeypatch) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """Every claim that won: (session, from, to). Job ids are derived from the window, so a second win of a
    window would not show as a second job in the list; it would re-put and re-queue the same job."""
    from contextiq.stores.dynamo.policies import PolicyStore

    won: list[tuple[str, int, int]] = []
    real = PolicyStore.claim

    def counted(self, tenant, session_id, from_seq, to_seq, job, spec):  # type: ignore[no-untyped-def]
        ok = real(self, tenant, session_id, from_seq, to_seq, job, spec)
        if ok:
            won.append((session_id, from_seq, to_seq))
        return ok

    monkeypatch.setattr(PolicyStore, "claim", counted)
    return won


def _session(api, headers=None, **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = api.post("/v1/sessions", json={"user_id": "alice", "app_name": "travel", **body}, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _say(api, sid: str, text: str, headers=None) -> None:  # type: ignore[no-untyped-def]
    resp = api.post(
        f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}}, headers=headers or {}
    )
    assert resp.status_code == 201, resp.text


def _jobs(api, sid: str, headers=None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    resp = api.get("/v1/jobs", params={"session_id": sid}, headers=headers or {})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_every_n_events_forms_memories_without_a_generate_call(api, pipeline) -> None:
    put = api.put("/v1/generation-policies/travel", json={"every_n_events": 5})
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == '"1"'
    sid = _session(api)["id"]
    for i in range(10):
        _say(api, sid, FACTS[i] if i < 5 else f"Tell me more about item {i}.")
    pipeline()  # the stream replays each append's record in order
    jobs = _jobs(api, sid)
    assert [j["trigger"] for j in jobs] == ["every_n_events", "every_n_events"]
    assert all(j["status"] == "SUCCEEDED" for j in jobs), jobs
    session = api.get(f"/v1/sessions/{sid}").json()
    assert session["last_generated_seq"] == 10 and session["last_job_id"] == jobs[-1]["id"]
    found = api.post("/v1/memories/search", json={"scope": {"user_id": "alice"}, "query": "vegetarian"}).json()
    assert any("vegetarian" in r["memory"]["fact"].lower() for r in found["results"]), found


def test_redelivered_stream_records_make_no_second_job(api, pipeline, container, claims) -> None:
    from contextiq.local.streams import StreamPoller

    api.put("/v1/generation-policies/travel", json={"every_n_events": 3})
    sid = _session(api)["id"]
    for text in FACTS[:3]:
        _say(api, sid, text)
    pipeline()
    again = StreamPoller.for_settings(container.settings, container.dynamodb, "generation_policy")
    assert again.drain() > 0  # a fresh consumer replays the whole stream from its start
    pipeline()
    assert len(_jobs(api, sid)) == 1
    assert claims == [(sid, 0, 3)]


def test_two_consumers_at_once_make_one_job_per_window(api, pipeline, container, claims) -> None:
    import threading

    from contextiq.local.streams import StreamPoller

    sid = _session(api, generation_policy={"every_n_events": 4})["id"]
    for i in range(12):
        _say(api, sid, f"Note {i}: I like hiking.")
    consumers = [
        StreamPoller.for_settings(container.settings, container.dynamodb, "generation_policy") for _ in range(3)
    ]
    threads = [threading.Thread(target=c.drain) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    jobs = _jobs(api, sid)
    assert len(jobs) == 3 and len({j["id"] for j in jobs}) == 3, jobs
    assert sorted(claims) == [(sid, 0, 4), (sid, 4, 8), (sid, 8, 12)]
    assert api.get(f"/v1/sessions/{sid}").json()["last_generated_seq"] == 12


def test_idle_policy_fires_once(api, pipeline, container, claims) -> None:
    session = _session(api, generation_policy={"idle_seconds": 1})
    sid = session["id"]
    _say(api, sid, FACTS[0])
    _say(api, sid, FACTS[1])
    pipeline()  # the checks are delayed by the idle time (the unit tests pin down "not before")
    import time

    time.sleep(1.2)
    pipeline()
    jobs = _jobs(api, sid)
    assert [(j["trigger"], j["status"]) for j in jobs] == [("idle", "SUCCEEDED")]
    time.sleep(1.2)
    pipeline()
    assert len(_jobs(api, sid)) == 1
    assert claims == [(sid, 0, 2)]


def test_session_delete_submits_a_final_job_with_its_events(api, pipeline) -> None:
    sid = _session(
        api,
        generation_policy={"on_session_delete": True, "scope_template": {"user_id": "{user_id}", "app": "{app_name}"}},
    )["id"]
    _say(api, sid, FACTS[0])
    _say(api, sid, FACTS[1])
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    pipeline()
    jobs = _jobs(api, sid)
    assert [(j["trigger"], j["status"]) for j in jobs] == [("session_delete", "SUCCEEDED")], jobs
    assert jobs[0]["scope"] == {"user_id": "alice", "app": "travel"}
    assert jobs[0]["result"]["added"] == 2
    memory = api.get(f"/v1/memories/{jobs[0]['result']['memory_ids'][0]}").json()
    assert memory["scope"] == {"user_id": "alice", "app": "travel"}
    assert memory["source"]["session_id"] == sid and memory["source"]["event_ids"], memory


def test_policies_are_per_tenant(api) -> None:
    assert api.put("/v1/generation-policies/travel", json={"every_n_events": 5}).status_code == 200
    assert api.get("/v1/generation-policies/travel", headers=B).status_code == 404
    assert api.delete("/v1/generation-policies/travel", headers=B).status_code == 404
    assert api.get("/v1/generation-policies", headers=B).json()["items"] == []
    assert [p["app_name"] for p in api.get("/v1/generation-policies").json()["items"]] == ["travel"]
    sid = _session(api)["id"]
    assert api.patch(f"/v1/sessions/{sid}", json={"generation_policy": None}, headers=B).status_code == 404
    assert _jobs(api, sid, headers=B) == []
    assert api.delete(f"/v1/sessions/{sid}", headers=B).status_code == 404
    b_put = api.put("/v1/generation-policies/travel", json={"every_n_events": 1}, headers=B)
    assert b_put.status_code == 200 and b_put.json()["version"] == 1  # B's own policy: A's is untouched
    assert api.get("/v1/generation-policies/travel").json()["every_n_events"] == 5


def test_bad_policies_are_problems_naming_the_field(api) -> None:
    cases = [
        ({"every_n_events": 0}, "every_n_events"),
        ({"idle_seconds": 86_401}, "idle_seconds"),
        ({"scope_template": {"user_id": "{nope}"}}, "scope_template.user_id"),
        ({"scope_template": {}}, "scope_template"),
        ({"topics": ["NOT_A_TOPIC"]}, "topics"),
        ({"every_n_events": 5, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        resp = api.put("/v1/generation-policies/travel", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].startswith(field) for e in resp.json()["errors"]), (field, resp.json())
    resp = api.post(
        "/v1/sessions", json={"user_id": "a", "generation_policy": {"scope_template": {"app": "{app_name}"}}}
    )
    assert resp.status_code == 422, resp.text
    sid = api.post("/v1/sessions", json={"user_id": "a"}).json()["id"]
    resp = api.patch(f"/v1/sessions/{sid}", json={"generation_policy": {"scope_template": {"app": "{app_name}"}}})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "generation_policy.scope_template"


def test_put_if_match_and_patch_session(api) -> None:
    first = api.put("/v1/generation-policies/travel", json={"every_n_events": 5})
    stale = api.put("/v1/generation-policies/travel", json={"every_n_events": 6}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    second = api.put(
        "/v1/generation-policies/travel", json={"every_n_events": 6}, headers={"If-Match": first.headers["ETag"]}
    )
    assert second.status_code == 200 and second.json()["version"] == 2
    session = _session(api)
    patched = api.patch(f"/v1/sessions/{session['id']}", json={"generation_policy": {"idle_seconds": 30}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["generation_policy"]["idle_seconds"] == 30 and patched.json()["version"] == 2
    cleared = api.patch(f"/v1/sessions/{session['id']}", json={"generation_policy": None}, headers={"If-Match": '"2"'})
    assert cleared.status_code == 200 and cleared.json()["generation_policy"] is None
    assert api.delete("/v1/generation-policies/travel").status_code == 204
    assert api.get("/v1/generation-policies/travel").status_code == 404
    assert api.patch(f"/v1/sessions/{uuid.uuid4().hex}", json={"generation_policy": None}).status_code == 404


def test_a_claim_meeting_an_appends_transaction_is_tried_again(container) -> None:
    """TransactionConflict (an append's transaction on the session item) is retried, not a lost claim."""
    from botocore.exceptions import ClientError

    from contextiq.ids import utcnow
    from contextiq.models.jobs import Job, JobStatus
    from contextiq.models.pipeline import JobSpec
    from contextiq.models.sessions import EventCreate, SessionCreate
    from contextiq.stores.dynamo.policies import PolicyStore

    session = container.sessions.create("tenant-a", SessionCreate(user_id="u1"))
    container.sessions.append_event("tenant-a", session.id, EventCreate(author="user", content={"text": "hi"}))
    real = container.dynamodb.transact_write_items
    calls: list[int] = []

    def conflicted_once(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    class Client:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return conflicted_once if name == "transact_write_items" else getattr(container.dynamodb, name)

    store = PolicyStore(
        Client(),
        container.settings.sessions_table,
        container.settings.jobs_table,
        container.page_tokens,
        sleep=lambda _: None,
    )
    now = utcnow()
    job = Job(
        id="01JD8X9Q3T9V6G8J2K4M5N7P8R",
        status=JobStatus.PENDING,
        scope={"user_id": "u1"},
        create_time=now,
        update_time=now,
        session_id=session.id,
    )
    spec = JobSpec(scope={"user_id": "u1"}, session_id=session.id, after_seq=0, until_seq=1)
    assert store.claim("tenant-a", session.id, 0, 1, job, spec) is True
    assert len(calls) == 2
    assert container.sessions.get("tenant-a", session.id).last_generated_seq == 1
    assert store.claim("tenant-a", session.id, 0, 1, job, spec) is False  # the same window again: lost, no job


# -- forks ---------------------------------------------------------------------------------------------


def _fork(api, sid: str, at_seq: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = api.post(f"/v1/sessions/{sid}/fork", json={"at_seq": at_seq})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_fork_does_not_extract_again_what_its_source_did(api, pipeline, claims) -> None:
    """Shared scope (the default {user_id}): the fork counts the source's progress, so its copies of
    events 1..5 make no job; its own appends complete the window (5, 10]."""
    api.put("/v1/generation-policies/travel", json={"every_n_events": 5})
    sid = _session(api)["id"]
    for text in [*FACTS, "I also like jazz.", "And chess."]:
        _say(api, sid, text)
    pipeline()
    assert claims == [(sid, 0, 5)]
    fork = _fork(api, sid, 7)
    assert (fork["last_generated_seq"], fork["last_job_id"]) == (5, None)
    pipeline()
    assert _jobs(api, fork["id"]) == [] and claims == [(sid, 0, 5)]  # before: the fork claimed (0, 5] again
    for i in range(3):
        _say(api, fork["id"], f"Fork note {i}.")
    pipeline()
    assert claims == [(sid, 0, 5), (fork["id"], 5, 10)]
    (job,) = _jobs(api, fork["id"])
    assert job["trigger"] == "every_n_events" and job["status"] == "SUCCEEDED", job


def test_a_fork_into_its_own_scope_generates_its_copies(api, pipeline, claims) -> None:
    """A per-session scope: the source's own policy comes with the fork, whose scope has none of the source's
    facts, so the copies are generated again, into the fork's scope."""
    policy = {"every_n_events": 5, "scope_template": {"user_id": "{user_id}", "session": "{session_id}"}}
    sid = _session(api, generation_policy=policy)["id"]
    for text in FACTS:
        _say(api, sid, text)
    pipeline()
    fork = _fork(api, sid, 5)
    assert fork["generation_policy"]["scope_template"] == policy["scope_template"]
    assert fork["last_generated_seq"] == 0
    pipeline()
    assert sorted(claims) == sorted([(sid, 0, 5), (fork["id"], 0, 5)])
    scope = {"user_id": "alice", "session": fork["id"]}
    found = api.post("/v1/memories/search", json={"scope": scope, "query": "vegetarian"}).json()
    assert any("vegetarian" in r["memory"]["fact"].lower() for r in found["results"]), found
