"""Memory generation end to end in one process: API -> moto SQS -> the Lambda handlers -> memories."""

from __future__ import annotations

import json

import pytest

from contextiq.definitions import EXTRACTION_QUEUE
from tests.conftest import TENANT_B_KEY

SCOPE = {"user_id": "alice"}


def _conversation(api, turns):  # type: ignore[no-untyped-def]
    sid = api.post("/v1/sessions", json={"user_id": "alice", "app_name": "travel"}).json()["id"]
    for author, text in turns:
        r = api.post(f"/v1/sessions/{sid}/events", json={"author": author, "role": author, "content": {"text": text}})
        assert r.status_code == 201
    return sid


def _generate(api, drain, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories/generate", json=body)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    assert resp.json()["status"] == "PENDING"
    drain()
    return api.get(f"/v1/jobs/{job_id}").json()


def _facts(api, scope=SCOPE):  # type: ignore[no-untyped-def]
    query = "&".join(f"scope.{k}={v}" for k, v in scope.items())
    return sorted(m["fact"] for m in api.get(f"/v1/memories?{query}&limit=100").json()["items"])


def test_generate_from_session_then_again_changes_nothing(api, workers) -> None:
    sid = _conversation(
        api,
        [
            ("user", "Hi, my name is Alice."),
            ("model", "Hello Alice!"),
            ("user", "I'm vegetarian and I live in Paris."),
        ],
    )
    job = _generate(api, workers, session_id=sid)
    assert job["status"] == "SUCCEEDED", job
    facts = _facts(api)
    assert job["result"]["added"] == len(facts) >= 2
    assert any("vegetarian" in f for f in facts) and any("Paris" in f for f in facts)
    again = _generate(api, workers, session_id=sid)
    assert again["status"] == "SUCCEEDED"
    assert again["result"]["added"] == again["result"]["updated"] == again["result"]["deleted"] == 0
    assert _facts(api) == facts


def test_contradiction_updates_with_revision_and_source(api, workers) -> None:
    first = _conversation(api, [("user", "My name is Alice. I live in Paris.")])
    _generate(api, workers, session_id=first)
    later = _conversation(api, [("user", "I moved to Berlin last month.")])
    job = _generate(api, workers, session_id=later)
    assert job["result"]["updated"] == 1, job
    facts = _facts(api)
    assert any("Berlin" in f for f in facts) and not any("Paris" in f for f in facts)
    updated = job["result"]["memory_ids"][0]
    revisions = api.get(f"/v1/memories/{updated}/revisions").json()["items"]
    assert [r["action"] for r in revisions] == ["CREATED", "UPDATED"]
    assert revisions[1]["actor"] == f"job:{job['id']}"
    assert revisions[1]["source"]["session_id"] == later and revisions[1]["source"]["event_ids"]
    assert "Paris" in revisions[1]["previous_fact"]


def test_generate_from_facts_and_direct_events(api, workers) -> None:
    job = _generate(api, workers, facts=["Bob's favourite colour is green"], scope={"user_id": "bob"})
    assert job["status"] == "SUCCEEDED" and job["result"]["added"] == 1
    job2 = _generate(
        api,
        workers,
        scope={"user_id": "bob"},
        disable_consolidation=True,
        events=[{"author": "user", "text": "I love hiking in the Alps."}],
    )
    assert job2["status"] == "SUCCEEDED" and job2["result"]["added"] >= 1
    assert any("hiking" in f for f in _facts(api, {"user_id": "bob"}))


def test_duplicate_sqs_delivery_creates_no_duplicate(api, workers, container) -> None:
    resp = api.post("/v1/memories/generate", json={"facts": ["Carol plays the cello"], "scope": {"user_id": "carol"}})
    job_id = resp.json()["job_id"]
    workers()
    # deliver the same extraction and consolidation messages again, as SQS may
    url = container.settings.extraction_queue_url
    container.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"tenant": "tenant-a", "job_id": job_id}))
    part = {
        "tenant": "tenant-a",
        "job_id": job_id,
        "part": 0,
        "scope": {"user_id": "carol"},
        "session_id": None,
        "disable_consolidation": True,
        "candidates": [{"fact": "Carol plays the cello", "topic": "PROVIDED"}],
    }
    container.sqs.send_message(
        QueueUrl=container.settings.consolidation_queue_url,
        MessageBody=json.dumps(part),
        MessageGroupId="g",
        MessageDeduplicationId="replay-1",
    )
    workers()
    assert _facts(api, {"user_id": "carol"}) == ["Carol plays the cello"]
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["result"]["added"] == 1


def test_poison_message_ends_in_dlq_and_job_failed(api, workers, container, monkeypatch) -> None:
    from contextiq.ai.extractors.base import MalformedModelOutputError
    from contextiq.local.bootstrap import dead_letter_url
    from contextiq.local.workers import load_function

    sid = _conversation(api, [("user", "I'm allergic to cats.")])
    extraction = load_function("extraction")

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise MalformedModelOutputError("model answered text instead of calling the tool")

    monkeypatch.setattr(extraction.container.extraction_worker._extractor, "extract", broken)
    resp = api.post("/v1/memories/generate", json={"session_id": sid})
    job_id = resp.json()["job_id"]
    workers()
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "FAILED"
    deliveries = f"{EXTRACTION_QUEUE.max_receive_count} deliveries"  # maxReceiveCount 5 (AWS guidance)
    assert "MalformedModelOutputError" in job["error"] and deliveries in job["error"]
    dlq = dead_letter_url(container.settings.extraction_queue_url)
    dead = container.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in dead] == [job_id]
    assert _facts(api) == []  # nothing half-written


def test_two_jobs_on_one_scope_give_a_consistent_result(api, workers) -> None:
    a = api.post("/v1/memories/generate", json={"facts": ["Dan lives in Oslo"], "scope": {"user_id": "dan"}})
    b = api.post("/v1/memories/generate", json={"facts": ["Dan lives in Oslo"], "scope": {"user_id": "dan"}})
    workers()
    jobs = [api.get(f"/v1/jobs/{r.json()['job_id']}").json() for r in (a, b)]
    assert all(j["status"] == "SUCCEEDED" for j in jobs)
    assert sorted(j["result"]["added"] for j in jobs) == [0, 1]
    assert _facts(api, {"user_id": "dan"}) == ["Dan lives in Oslo"]


def test_generate_validation_and_tenancy(api, workers) -> None:
    assert api.post("/v1/memories/generate", json={"facts": ["x"]}).status_code == 422  # no scope
    both = {"facts": ["x"], "events": [{"author": "u", "text": "t"}], "scope": SCOPE}
    r = api.post("/v1/memories/generate", json=both)
    assert r.status_code == 422 and "exactly one source" in r.text
    assert (
        api.post("/v1/memories/generate", json={"facts": ["x"], "scope": SCOPE, "topics": ["NOPE"]}).status_code == 422
    )
    sid = _conversation(api, [("user", "I'm vegan.")])
    other = api.post("/v1/memories/generate", json={"session_id": sid}, headers={"x-api-key": TENANT_B_KEY})
    assert other.status_code == 404
    job_id = api.post("/v1/memories/generate", json={"session_id": sid}).json()["job_id"]
    assert api.get(f"/v1/jobs/{job_id}", headers={"x-api-key": TENANT_B_KEY}).status_code == 404
    assert api.get("/v1/jobs/unknown").status_code == 404


@pytest.mark.parametrize("wait", [0.0, 0.5])
def test_wait_seconds_returns_202_when_not_done(api, workers, wait) -> None:
    r = api.post(
        "/v1/memories/generate",
        json={"facts": ["Eve likes tea"], "scope": {"user_id": "eve"}, "wait_seconds": wait},
    )
    assert r.status_code == 202 and r.json()["status"] == "PENDING"  # no worker ran meanwhile
