"""The events index follows the sessions table: a TTL expiry (a stream REMOVE by the DynamoDB service)
takes a session's events out, a replayed INSERT cannot bring them back; apps an operator opts out of
turn-level indexing (``event_index_opt_out``) are skipped by the indexer and by reindex."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.config import Settings
from contextiq.services.indexing import apply_change, reindex
from contextiq.stores.dynamo.streams import parse_stream_record
from contextiq.stores.vector.base import SearchQuery
from contextiq.stores.vector.documents import events_partition
from tests.integration.test_episodes_api import _events, _say, _session


def _indexed(container, text: str, user: str = "u1", tenant: str = "tenant-a") -> list[str]:  # type: ignore[no-untyped-def]
    hits = container.vector_index.search(
        SearchQuery(tenant, events_partition(user), text, None, mode="keyword", kind="event")
    )
    return [h.memory_id for h in hits]


def _event_item(container, session_id: str, seq: int):  # type: ignore[no-untyped-def]
    """The event item as the sessions table holds it (what its stream images carry)."""
    items = container.dynamodb.scan(TableName=container.settings.sessions_table)["Items"]
    found = [i for i in items if i.get("session_id", {}).get("S") == session_id and i["sk"]["S"].startswith("E#")]
    return sorted(found, key=lambda i: i["sk"]["S"])[seq - 1]


def test_ttl_expiry_removes_a_sessions_events_and_a_replay_cannot_resurrect_them(api, container) -> None:
    sid = _session(api)
    _say(api, sid, "My locker code is 5512")
    item = _event_item(container, sid, 1)
    keys = {"pk": item["pk"], "sk": item["sk"]}
    insert = {"eventName": "INSERT", "dynamodb": {"Keys": keys, "NewImage": item}}
    # What DynamoDB's TTL deletion puts on the stream: a REMOVE by the service principal, old image only.
    expiry = {
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"Keys": keys, "OldImage": item},
    }

    def apply(record):  # type: ignore[no-untyped-def]
        return apply_change(container.vector_index, container.embedder, parse_stream_record(DynamoDBRecord(record)))

    assert apply(insert) == "upserted"
    assert _indexed(container, "locker") == [f"{sid}/1"]
    assert apply(expiry) == "removed"
    assert _indexed(container, "locker") == []
    assert apply(insert) == "upserted"  # a late, replayed INSERT: the tombstone's version wins
    assert _indexed(container, "locker") == []


def test_settings_opt_out_names_tenant_apps() -> None:
    s = Settings(event_index_opt_out=" tenant-a/diary , tenant-b/* ")
    assert s.events_opted_out("tenant-a", "diary")
    assert not s.events_opted_out("tenant-a", "travel")
    assert not s.events_opted_out("tenant-a", None)  # sessions without an app are not in an opted-out app
    assert s.events_opted_out("tenant-b", "anything") and s.events_opted_out("tenant-b", None)
    assert not s.events_opted_out("tenant-c", "diary")
    assert not Settings().events_opted_out("tenant-a", "diary")


@pytest.fixture
def index_with_opt_out(container, monkeypatch):  # type: ignore[no-untyped-def]
    """The indexer handler as deployed with ``event_index_opt_out = "tenant-a/diary"``."""
    from contextiq.local.inprocess import forget_handlers, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONTEXTIQ_EVENT_INDEX_OPT_OUT", "tenant-a/diary")
    forget_handlers()
    yield StreamPoller.for_settings(container.settings, container.dynamodb).drain
    forget_handlers()


def test_an_app_opted_out_by_the_operator_is_never_indexed(api, container, index_with_opt_out) -> None:
    from tests.conftest import TENANT_B_KEY

    b = {"x-api-key": TENANT_B_KEY}
    diary = _session(api, app="diary")
    _say(api, diary, "I told my therapist about the Okafor case")
    travel = _session(api, app="travel")
    kept = _say(api, travel, "Dr Okafor recommended a hotel in Porto")
    b_diary = _session(api, app="diary", headers=b)
    b_kept = _say(api, b_diary, "Okafor is tenant B's diary entry", headers=b)
    index_with_opt_out()
    assert [r["event"]["id"] for r in _events(api, query="Okafor", mode="keyword")] == [kept["id"]]
    # the opt-out names tenant A's app only: tenant B's app of the same name is indexed
    assert [r["event"]["id"] for r in _events(api, headers=b, query="Okafor", mode="keyword")] == [b_kept["id"]]
    recalled = api.post("/v1/recall", json={"scope": {"user_id": "u1"}, "query": "Okafor"}).json()["results"]
    assert [r["event"]["id"] for r in recalled if r["type"] == "event"] == [kept["id"]]
    # reindex applies the same setting; the diary's events are still stored and listed
    opted_out = Settings(event_index_opt_out="tenant-a/diary").events_opted_out
    counts = reindex(container.vector_index, container.embedder, container.index_tables(), opted_out=opted_out)
    assert counts["events"] == 2  # tenant A's travel turn and tenant B's diary turn
    assert _indexed(container, "Okafor") == [f"{travel}/1"]
    listed = api.get(f"/v1/sessions/{diary}/events").json()["items"]
    assert [e["content"]["text"] for e in listed] == ["I told my therapist about the Okafor case"]
