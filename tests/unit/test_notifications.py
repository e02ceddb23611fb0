"""Change events from stream records, the EventBridge publisher, signing and the URL rules (no AWS)."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook as Verifier

from contextiq import limits
from contextiq.definitions import WEBHOOK_DELIVERY_QUEUE
from contextiq.models.notifications import ChangeEvent
from contextiq.stores.dynamo.base import to_item
from contextiq.stores.dynamo.change_streams import change_events
from contextiq.stores.eventbridge import EventBridgePublisher, PublishError, chunks, entry_size, to_entry
from contextiq.stores.webhook_http import UnsafeUrlError, check_url, is_public, post

NOW = "2026-01-02T03:04:05.000Z"


def memory(version: int, fact: str = "Ana likes tea", deleted: bool = False) -> dict[str, Any]:
    item = {
        "pk": "T#t1#M#m1", "sk": "MEMORY", "tenant": "t1", "id": "m1", "scope": json.dumps({"user_id": "ana"}),
        "fact": fact, "topics": ["prefs"], "version": version, "create_time": NOW, "update_time": NOW,
        "vector": b"\x00\x01",
    }  # fmt: skip
    if deleted:
        item["deleted_time"] = "2026-01-02T04:00:00.000Z"
    return to_item(item)


def record(name: str, new: dict | None = None, old: dict | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"ApproximateCreationDateTime": 1767323045}
    if new is not None:
        data["NewImage"] = new
    if old is not None:
        data["OldImage"] = old
    return {"eventName": name, "dynamodb": data}


def kinds(rec: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(e.type, e.version) for e in change_events(rec)]


def test_memory_changes_become_events_only_when_the_version_moves() -> None:
    assert kinds(record("INSERT", memory(1))) == [("memory.created", 1)]
    assert kinds(record("MODIFY", memory(2, "x"), memory(1))) == [("memory.updated", 2)]
    assert kinds(record("MODIFY", memory(2), memory(2))) == []  # same version: nothing to announce
    assert kinds(record("MODIFY", memory(3, deleted=True), memory(2))) == [("memory.deleted", 3)]
    assert kinds(record("REMOVE", old=memory(3, deleted=True))) == []  # a tombstone's TTL
    expired = change_events(record("REMOVE", old=memory(2)))  # a live memory's TTL
    assert [(e.type, e.version, e.data) for e in expired] == [("memory.deleted", 3, {"expired": True})]
    assert expired[0].time == datetime.fromtimestamp(1767323045, UTC)


def test_an_event_says_who_what_and_when_and_its_id_is_stable() -> None:
    (event,) = change_events(record("INSERT", memory(1)))
    assert (event.tenant, event.scope, event.resource, event.resource_id, event.action) == (
        "t1", {"user_id": "ana"}, "memory", "m1", "created",
    )  # fmt: skip
    assert event.data == {"fact": "Ana likes tea", "topics": ["prefs"]}
    assert event.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    (again,) = change_events(record("INSERT", memory(1)))
    assert again.id == event.id  # a replayed record: same id
    (other,) = change_events(record("MODIFY", memory(2), memory(1)))
    assert other.id != event.id
    assert ChangeEvent.model_validate_json(event.model_dump_json()) == event
    assert "vector" not in event.model_dump_json()


def test_revisions_sessions_and_trajectories_are_not_announced() -> None:
    revision = to_item({"pk": "T#t1#M#m1", "sk": "R#01J", "tenant": "t1"})
    assert change_events(record("INSERT", revision)) == []
    assert change_events(record("INSERT", to_item({"pk": "x", "sk": "TRAJECTORY"}))) == []
    assert change_events({"eventName": "INSERT"}) == []


def procedure(version: int, deleted: bool = False, uses: int = 0) -> dict[str, Any]:
    item = {
        "pk": "T#t1#P#p1", "sk": "PROCEDURE", "tenant": "t1", "id": "p1", "scope": json.dumps({"agent": "a"}),
        "name": "Book a flight", "kind": "workflow", "status": "active", "version": version,
        "create_time": NOW, "update_time": NOW, "uses": uses,
    }  # fmt: skip
    if deleted:
        item["deleted_time"] = NOW
    return to_item(item)


def test_procedure_changes_but_not_outcome_counters() -> None:
    assert kinds(record("INSERT", procedure(1))) == [("procedure.created", 1)]
    assert kinds(record("MODIFY", procedure(1, uses=1), procedure(1))) == []  # feedback: counters only
    assert kinds(record("MODIFY", procedure(2), procedure(1))) == [("procedure.updated", 2)]
    assert kinds(record("MODIFY", procedure(3, deleted=True), procedure(2))) == [("procedure.deleted", 3)]


def job(status: str, **extra: Any) -> dict[str, Any]:
    return to_item({
        "pk": "T#t1#J#j1", "sk": "JOB", "tenant": "t1", "id": "j1", "status": status,
        "scope": json.dumps({"user_id": "ana"}), "spec": json.dumps({"kind": "memories"}),
        "create_time": NOW, "update_time": NOW, **extra,
    })  # fmt: skip


def test_a_job_is_announced_once_when_it_finishes() -> None:
    assert kinds(record("INSERT", job("PENDING"))) == []
    assert kinds(record("MODIFY", job("RUNNING"), job("PENDING"))) == []
    done = change_events(record("MODIFY", job("SUCCEEDED", added=2, memory_ids={"m1", "m2"}), job("RUNNING")))
    assert [(e.type, e.version) for e in done] == [("job.succeeded", None)]
    assert done[0].data["result"]["added"] == 2 and done[0].data["result"]["memory_ids"] == ["m1", "m2"]
    assert kinds(record("MODIFY", job("SUCCEEDED", added=3), job("SUCCEEDED"))) == []  # already finished
    failed = change_events(record("MODIFY", job("FAILED", error="boom"), job("RUNNING")))
    assert [(e.type, e.data["error"]) for e in failed] == [("job.failed", "boom")]
    assert change_events(record("REMOVE", old=job("SUCCEEDED"))) == []  # retention TTL


class FakeEvents:
    """put_events that refuses the entries named in ``fail`` for the first ``times`` calls."""

    def __init__(self, fail: set[str] | None = None, times: int = 1) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail = fail or set()
        self.times = times

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(Entries)
        failing = len(self.calls) <= self.times
        out = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
            if failing and json.loads(e["Detail"])["resource_id"] in self.fail
            else {"EventId": "x"}
            for e in Entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in o for o in out), "Entries": out}


def events(n: int, fact: str = "f") -> list[ChangeEvent]:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        ChangeEvent.build(resource="memory", action="created", tenant="t", scope={"u": "1"}, resource_id=f"m{i}",
                          version=1, time=when, data={"fact": fact})
        for i in range(n)
    ]  # fmt: skip


def test_put_events_calls_hold_at_most_10_entries_under_256_kb() -> None:
    fake = FakeEvents()
    EventBridgePublisher(fake, "bus", sleep=lambda _s: None).publish(events(25))
    assert [len(c) for c in fake.calls] == [10, 10, 5]
    assert {e["EventBusName"] for c in fake.calls for e in c} == {"bus"}
    assert fake.calls[0][0]["Source"] == "contextiq" and fake.calls[0][0]["DetailType"] == "memory.created"
    big = [to_entry(e, "bus") for e in events(8, fact="x" * 60_000)]
    assert all(sum(entry_size(e) for e in call) < 256 * 1024 for call in chunks(big))
    assert [len(c) for c in chunks(big)] == [4, 4]
    with pytest.raises(PublishError):
        chunks([to_entry(events(1, fact="x" * 300_000)[0], "bus")])


def test_failed_entries_alone_are_sent_again() -> None:
    fake = FakeEvents(fail={"m3", "m7"}, times=2)
    EventBridgePublisher(fake, "bus", sleep=lambda _s: None).publish(events(10))
    resent = [[json.loads(e["Detail"])["resource_id"] for e in call] for call in fake.calls[1:]]
    assert resent == [["m3", "m7"], ["m3", "m7"]]


def test_entries_that_never_go_raise_so_the_record_is_retried() -> None:
    fake = FakeEvents(fail={"m1"}, times=99)
    with pytest.raises(PublishError, match="ThrottlingException"):
        EventBridgePublisher(fake, "bus", sleep=lambda _s: None).publish(events(3))


def test_the_signature_is_standard_webhooks_v1() -> None:
    from contextiq.services.webhook_delivery import sign
    from contextiq.services.webhooks import new_secret

    secret = new_secret()
    now = int(datetime.now(UTC).timestamp())
    body = b'{"type":"memory.created"}'
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "evt_1", now, body),
    }
    assert Verifier(secret).verify(body, headers) == {"type": "memory.created"}
    tampered = {**headers, "webhook-timestamp": str(now - 1)}
    with pytest.raises(Exception, match="signature"):
        Verifier(secret).verify(body, tampered)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True), ("2606:4700:4700::1111", True), ("10.0.0.1", False), ("172.16.5.4", False),
        ("192.168.1.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
        ("::1", False), ("fe80::1", False), ("fd00:ec2::254", False), ("0.0.0.0", False),  # noqa: S104
        ("::ffff:10.0.0.1", False), ("::ffff:93.184.216.34", True), ("224.0.0.1", False), ("240.0.0.1", False),
    ],
)  # fmt: skip
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_every_resolved_address_must_be_public() -> None:
    def resolver(*addresses: str):  # type: ignore[no-untyped-def]
        return lambda _host, _port: list(addresses)

    check_url("https://h.test/x", False, resolver("93.184.216.34"))
    with pytest.raises(UnsafeUrlError, match="private"):
        check_url("https://h.test/x", False, resolver("93.184.216.34", "10.0.0.1"))  # one bad answer is enough
    with pytest.raises(UnsafeUrlError, match="https"):
        check_url("http://h.test/x", False, resolver("93.184.216.34"))
    check_url("http://localhost:8080/x", True, resolver("127.0.0.1"))  # the local runtime's setting


def test_delivery_connects_to_the_vetted_address_with_the_urls_host() -> None:
    """The connection is pinned: the receiver (on 127.0.0.1) sees the URL's host name in Host."""
    from tests.webhook_receiver import Receiver

    receiver = Receiver().start()
    try:
        answer = post(f"http://receiver.test:{receiver.port}/hook?x=1", b"{}", {}, True, lambda _h, _p: ["127.0.0.1"])
        assert answer.ok and answer.status_code == 204
        (got,) = receiver.requests
        assert got.headers["host"] == f"receiver.test:{receiver.port}" and got.path == "/hook?x=1"
        refused = post(f"https://receiver.test:{receiver.port}/", b"{}", {}, False, lambda _h, _p: ["127.0.0.1"])
        assert not refused.ok and refused.status_code is None and "refused" in (refused.error or "")
        assert len(receiver.requests) == 1  # the refused one never connected
    finally:
        receiver.stop()


def test_the_queue_dead_letters_after_the_last_attempt() -> None:
    assert WEBHOOK_DELIVERY_QUEUE.max_receive_count == limits.WEBHOOK_MAX_ATTEMPTS
    assert WEBHOOK_DELIVERY_QUEUE.fifo


def test_the_sample_stream_events_stand_for_the_documented_changes() -> None:
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "events" / "notifier"
    found = {
        f.stem: [e.type for r in json.loads(f.read_text())["Records"] for e in change_events(r)]
        for f in samples.glob("*.json")
    }
    assert found == {
        "memory_created": ["memory.created"],
        "memory_updated": ["memory.updated"],
        "memory_deleted": ["memory.deleted"],
        "job_succeeded": ["job.succeeded"],
    }


def test_an_oversized_event_goes_out_without_its_data() -> None:
    (small,) = events(1)
    assert small.fitted(limits.MAX_EVENT_PAYLOAD_BYTES) is small
    (big,) = events(1, fact="x" * (limits.MAX_EVENT_PAYLOAD_BYTES + 1))
    fitted = big.fitted(limits.MAX_EVENT_PAYLOAD_BYTES)
    assert fitted.data == {"truncated": True} and (fitted.id, fitted.version) == (big.id, big.version)
    assert len(fitted.model_dump_json()) < 1024


@given(st.text(max_size=300) | st.from_regex(r"https?://[^\s]{0,80}", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_any_url_is_either_a_target_or_refused_with_a_reason(url: str) -> None:
    """Free-form input never escapes as anything but UnsafeUrlError, and a refused one never connects."""
    calls: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        calls.append(host)
        return ["10.0.0.1"]

    with pytest.raises(UnsafeUrlError, match=r"\S"):  # every URL is refused here, with a reason
        check_url(url, False, resolver)
    answer = post(url, b"{}", {}, False, resolver)
    assert answer.status_code is None and (answer.error or "").startswith("refused")
