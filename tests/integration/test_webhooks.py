"""Webhooks end to end on moto, with a real HTTP receiver: memory changes flow through the memories
table's stream -> functions/notifier -> the FIFO delivery queue -> functions/webhook_delivery -> a signed
POST. Checks signature (with the independent ``standardwebhooks`` library), retries, order and the log."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook as Verifier

from tests.conftest import TENANT_B_KEY
from tests.webhook_receiver import Receiver

B = {"x-api-key": TENANT_B_KEY}


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from contextiq.config import Settings

    return Settings(
        stage="test",
        embedder="hashing",
        embedding_dimensions=256,
        vector_index="embedded",
        extractor="local",
        data_dir=tmp_path / "data",
        api_key_cache_seconds=0,
        webhooks_allow_local=True,
        webhook_retry_base_seconds=0.01,  # retries come back at once (visibility 0)
        webhook_retry_cap_seconds=0.01,
    )


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def pump(container, workers):  # type: ignore[no-untyped-def]
    """pump(): the notifier reads the streams, then the delivery queue is worked until empty."""
    from contextiq.local import workers as local_workers
    from contextiq.local.streams import StreamPoller

    poller = StreamPoller.for_settings(container.settings, container.dynamodb, "notifier")
    url = container.settings.webhook_delivery_queue_url

    def run(rounds: int = 60) -> None:
        poller.drain()
        for _ in range(rounds):
            if not local_workers.poll_once(container.sqs, url, "webhook_delivery", wait_seconds=0):
                return

    return run


def _hook(api, url, events=("*",), headers=None):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/webhooks", json={"url": url, "events": list(events)}, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_signed_retried_and_ordered_per_memory(api, receiver, pump):  # type: ignore[no-untyped-def]
    receiver.fail_first = 2  # the first delivery fails twice, then succeeds
    hook = _hook(api, receiver.url)
    memory = api.post("/v1/memories", json={"fact": "Ana likes tea", "scope": {"user_id": "ana"}}).json()
    for fact in ("Ana likes green tea", "Ana likes jasmine tea"):
        resp = api.patch(f"/v1/memories/{memory['id']}", json={"fact": fact})
        assert resp.status_code == 200, resp.text
    assert api.delete(f"/v1/memories/{memory['id']}").status_code == 204

    pump()

    got = receiver.delivered()
    assert [(r.event["type"], r.event["version"]) for r in got] == [
        ("memory.created", 1),
        ("memory.updated", 2),
        ("memory.updated", 3),
        ("memory.deleted", 4),
    ]
    assert receiver.answered[:3] == [503, 503, 204]  # retried, and nothing overtook the failing one
    verifier = Verifier(hook["secret"])
    for r in got:
        assert verifier.verify(r.body, r.headers) == r.event  # raises on a bad signature
        assert r.headers["webhook-id"] == r.event["id"]
        assert r.event["tenant"] == "tenant-a" and r.event["resource_id"] == memory["id"]
    assert got[0].event["data"]["fact"] == "Ana likes tea"
    first_attempts = {r.headers["webhook-id"] for r in receiver.requests[:3]}
    assert len(first_attempts) == 1  # a retry is the same message (same id), signed afresh

    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [d["version"] for d in log] == [4, 3, 2, 1]  # newest first
    assert {d["status"] for d in log} == {"DELIVERED"}
    assert [d["attempts"] for d in log][-1] == 3


def test_a_delivery_that_keeps_failing_is_failed_and_dead_lettered(api, container, receiver, pump):  # type: ignore[no-untyped-def]
    from contextiq import limits
    from contextiq.local.bootstrap import dead_letter_url

    receiver.fail_first = -1
    hook = _hook(api, receiver.url, events=["memory.created"])
    api.post("/v1/memories", json={"fact": "Bo owns a kayak", "scope": {"user_id": "bo"}})
    pump()
    pump()  # the final receive moves it to the dead-letter queue

    assert len(receiver.requests) == limits.WEBHOOK_MAX_ATTEMPTS
    (delivery,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "FAILED"
    assert delivery["attempts"] == limits.WEBHOOK_MAX_ATTEMPTS
    assert delivery["last_status_code"] == 503 and "dead-lettered" in delivery["last_error"]
    dlq = dead_letter_url(container.settings.webhook_delivery_queue_url)
    dead = container.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert len(dead) == 1 and hook["id"] in dead[0]["Body"]


def test_only_the_owning_tenants_matching_webhooks_get_events(api, receiver, pump):  # type: ignore[no-untyped-def]
    other = Receiver().start()
    try:
        _hook(api, receiver.url, events=["memory.deleted"])  # A: not interested in created
        hook_b = _hook(api, other.url, headers=B)  # B: everything, but only B's changes
        api.post("/v1/memories", json={"fact": "A's fact", "scope": {"user_id": "u"}})
        api.post("/v1/memories", json={"fact": "B's fact", "scope": {"user_id": "u"}}, headers=B)
        pump()
        assert receiver.requests == []
        assert [r.event["data"]["fact"] for r in other.delivered()] == ["B's fact"]
        assert {r.event["tenant"] for r in other.delivered()} == {"tenant-b"}
        assert api.get(f"/v1/webhooks/{hook_b['id']}/deliveries").status_code == 404
    finally:
        other.stop()


def test_a_replayed_stream_record_is_not_delivered_twice(api, container, receiver, pump):  # type: ignore[no-untyped-def]
    from contextiq.local.streams import StreamPoller

    _hook(api, receiver.url)
    api.post("/v1/memories", json={"fact": "Cy runs", "scope": {"user_id": "cy"}})
    pump()
    # A second consumer from TRIM_HORIZON = the same records again (an at-least-once redelivery).
    StreamPoller.for_settings(container.settings, container.dynamodb, "notifier").drain()
    pump()
    assert [r.event["type"] for r in receiver.delivered()] == ["memory.created"]


def test_delivery_refuses_a_host_that_now_resolves_privately(api, container, receiver, pump, monkeypatch):  # type: ignore[no-untyped-def]
    """DNS rebinding: the URL passed at create time; at delivery the host resolves to loopback."""
    import socket

    from contextiq.local.inprocess import forget_handlers

    public = "hooks.example.test"
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == public:
            return real("93.184.216.34", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    container.settings.webhooks_allow_local = False
    container.__dict__.pop("webhooks", None)
    hook = _hook(api, f"https://{public}/hook", events=["memory.created"])
    monkeypatch.setenv("CONTEXTIQ_WEBHOOKS_ALLOW_LOCAL", "false")
    monkeypatch.setenv("CONTEXTIQ_WEBHOOK_RETRY_BASE_SECONDS", "0")
    forget_handlers()

    def rebound(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return real("127.0.0.1" if host == public else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    api.post("/v1/memories", json={"fact": "Di swims", "scope": {"user_id": "di"}})
    pump()
    (delivery,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "FAILED"
    assert "refused" in delivery["last_error"] and "127.0.0.1" in delivery["last_error"]
    assert receiver.requests == []


def test_changes_reach_the_eventbridge_bus_with_their_detail_type(api, container, pump, monkeypatch):  # type: ignore[no-untyped-def]
    """The notifier's PutEvents against (moto's) EventBridge: a rule on the bus routes to a queue."""
    import json

    import boto3

    from contextiq.local.inprocess import forget_handlers

    events, sqs = boto3.client("events", region_name="us-east-1"), container.sqs
    events.create_event_bus(Name="contextiq-test")
    target = sqs.create_queue(QueueName="bus-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["contextiq"], "detail-type": ["memory.created", "memory.deleted"]}
    events.put_rule(Name="memories", EventBusName="contextiq-test", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="memories", EventBusName="contextiq-test", Targets=[{"Id": "q", "Arn": arn}])
    monkeypatch.setenv("CONTEXTIQ_EVENT_BUS_NAME", "contextiq-test")
    forget_handlers()

    memory = api.post("/v1/memories", json={"fact": "Fay sails", "scope": {"user_id": "fay"}}).json()
    api.patch(f"/v1/memories/{memory['id']}", json={"fact": "Fay sails dinghies"})  # not routed by the rule
    api.delete(f"/v1/memories/{memory['id']}")
    pump()

    got = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(e["detail-type"] for e in got) == ["memory.created", "memory.deleted"]
    assert {e["source"] for e in got} == {"contextiq"}
    assert {e["detail"]["resource_id"] for e in got} == {memory["id"]}
    assert {e["detail"]["tenant"] for e in got} == {"tenant-a"}


def test_a_generation_job_and_a_procedure_are_announced(api, receiver, pump, workers):  # type: ignore[no-untyped-def]
    """Memories written by a job's consolidation, the job's end (jobs table stream) and a procedure."""
    hook = _hook(api, receiver.url)
    resp = api.post("/v1/memories/generate", json={"facts": ["Gus keeps bees"], "scope": {"user_id": "gus"}})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    workers()  # extraction + consolidation: the job succeeds
    steps = [{"instruction": "Open the hive", "tool": "open"}]
    procedure = api.post(
        "/v1/procedures",
        json={
            "scope": {"user_id": "gus"},
            "kind": "workflow",
            "name": "Check the hive",
            "description": "d",
            "steps": steps,
        },
    ).json()
    pump()

    by_type = {r.event["type"]: r.event for r in receiver.delivered()}
    assert set(by_type) == {"memory.created", "job.succeeded", "procedure.created"}, by_type
    job = by_type["job.succeeded"]
    assert (job["resource_id"], job["version"], job["scope"]) == (job_id, None, {"user_id": "gus"})
    assert job["data"]["kind"] == "memories" and job["data"]["result"]["added"] == 1
    assert job["data"]["result"]["memory_ids"] == [by_type["memory.created"]["resource_id"]]
    assert by_type["procedure.created"]["resource_id"] == procedure["id"]
    assert by_type["procedure.created"]["data"]["name"] == "Check the hive"
    assert len(api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]) == 3


def test_a_record_that_cannot_be_announced_is_reported_alone_for_retry(container, workers, monkeypatch):  # type: ignore[no-untyped-def]
    """Partial batch failure: the bus refuses the event -> only that record is in batchItemFailures."""
    import json
    from pathlib import Path

    from contextiq.local.inprocess import forget_handlers
    from contextiq.local.workers import LambdaContextStub, load_function

    monkeypatch.setenv("CONTEXTIQ_EVENT_BUS_NAME", "late-bus")  # not created yet
    forget_handlers()
    samples = Path(__file__).resolve().parents[2] / "events" / "notifier"
    revision = json.loads((samples / "memory_created.json").read_text())["Records"][0]
    revision = json.loads(json.dumps(revision).replace('"MEMORY"', '"R#01KAEXAMPLEREVISION0000000"'))
    revision["dynamodb"]["SequenceNumber"] = "110"  # a revision item: nothing to announce, so nothing fails
    created = json.loads((samples / "memory_created.json").read_text())["Records"][0]
    handler = load_function("notifier").handler
    result = handler({"Records": [revision, created]}, LambdaContextStub("notifier"))
    assert result == {"batchItemFailures": [{"itemIdentifier": created["dynamodb"]["SequenceNumber"]}]}
    import boto3

    boto3.client("events", region_name="us-east-1").create_event_bus(Name="late-bus")
    assert handler({"Records": [created]}, LambdaContextStub("notifier")) == {"batchItemFailures": []}  # the retry
