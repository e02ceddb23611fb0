"""How the local runtime drives moto (contextiq.local.moto_fidelity): bounded memory per write, the same
all-or-nothing transactions, partition-only queries that stay correct, trimmed streams.

Counts and memory only, never time.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from contextiq.models.sessions import EventCreate, SessionCreate

MB = 1024 * 1024


def streams_client() -> Any:
    """botocore >= 1.40 sends StreamArn calls to <account>.streams-ddb.<region>; moto 5.2 answers only the
    regional endpoint (the local runtime sets AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled for the same reason)."""
    from botocore.config import Config

    return boto3.client("dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_rss_growth_after_a_thousand_appends_stays_small(container: Any) -> None:
    """Unpatched moto deep-copied the sessions table on every append: 1,000 appends took RSS past 1.5 GB."""
    svc = container.sessions
    sessions = [svc.create("t", SessionCreate(user_id="u")).id for _ in range(5)]

    def append(n: int) -> None:
        for i in range(n):
            event = EventCreate.model_validate({"author": "user", "content": {"text": f"message {i} " * 20}})
            svc.append_event("t", sessions[i % len(sessions)], event)

    append(200)  # warm up caches and allocator pools
    before = rss_bytes()
    append(1000)
    growth = rss_bytes() - before
    assert growth < 60 * MB, f"RSS grew {growth / MB:.0f} MB over 1,000 appends"
    assert svc.get("t", sessions[0]).event_count == 240


def test_rss_growth_after_a_thousand_memory_writes_stays_small(container: Any) -> None:
    """A memory write is one TransactWriteItems too (memory + its first revision), in 20 scopes."""
    from contextiq.models.memories import MemoryCreate

    svc = container.memories

    def write(start: int, n: int) -> None:
        for i in range(start, start + n):
            req = MemoryCreate.model_validate({"scope": {"user_id": f"u{i % 20}"}, "fact": f"The user likes item {i}"})
            svc.create("t", req, "apikey:k")

    write(0, 200)
    before = rss_bytes()
    write(200, 1000)
    growth = rss_bytes() - before
    assert growth < 60 * MB, f"RSS grew {growth / MB:.0f} MB over 1,000 memory writes"
    listed, _ = svc.list_scope("t", {"user_id": "u0"}, None, 100, None)
    assert len(listed) == 60


def _table(container: Any, name: str) -> str:
    return str(getattr(container.settings, name))


def test_failed_transaction_undoes_every_write_and_its_stream_records(container: Any) -> None:
    ddb, table = container.dynamodb, _table(container, "memories_table")
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "keep"}, "v": {"N": "1"}})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = streams_client()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> list[dict[str, Any]]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        return list(streams.get_records(ShardIterator=it["ShardIterator"])["Records"])

    seen = len(records())
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "keep"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "new"}})
    kept = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "keep"}})["Item"]
    assert kept["v"] == {"N": "1"}
    assert len(records()) == seen

    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}}]
    )
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "new"}})
    assert len(records()) == seen + 1


def test_gsi_query_follows_items_whose_index_key_changes(container: Any) -> None:
    ddb, table = container.dynamodb, _table(container, "sessions_table")

    def by_user(user: str) -> list[str]:
        resp = ddb.query(
            TableName=table,
            IndexName="by_user",
            KeyConditionExpression="gsi1pk = :u",
            ExpressionAttributeValues={":u": {"S": user}},
        )
        return sorted(i["pk"]["S"] for i in resp["Items"])

    for i in range(30):
        item = {"pk": {"S": f"s{i}"}, "sk": {"S": "META"}, "gsi1pk": {"S": f"u{i % 3}"}, "gsi1sk": {"S": str(i)}}
        ddb.put_item(TableName=table, Item=item)
    assert by_user("u1") == sorted(f"s{i}" for i in range(30) if i % 3 == 1)
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "s1"}, "sk": {"S": "META"}},
        UpdateExpression="SET gsi1pk = :u",
        ExpressionAttributeValues={":u": {"S": "u2"}},
    )
    ddb.delete_item(TableName=table, Key={"pk": {"S": "s4"}, "sk": {"S": "META"}})
    ddb.update_item(  # leaves the index: no GSI key any more
        TableName=table, Key={"pk": {"S": "s7"}, "sk": {"S": "META"}}, UpdateExpression="REMOVE gsi1pk, gsi1sk"
    )
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "s99"}, "sk": {"S": "META"}, "gsi1pk": {"S": "u1"}, "gsi1sk": {"S": "99"}},
    )
    assert by_user("u1") == sorted([f"s{i}" for i in range(30) if i % 3 == 1 and i not in (1, 4, 7)] + ["s99"])
    assert "s1" in by_user("u2")
    page = ddb.query(
        TableName=table,
        IndexName="by_user",
        KeyConditionExpression="gsi1pk = :u",
        ExpressionAttributeValues={":u": {"S": "u0"}},
        Limit=4,
    )
    assert [i["gsi1sk"]["S"] for i in page["Items"]] == ["0", "12", "15", "18"]


def test_base_table_query_sees_only_its_partition_in_order(container: Any) -> None:
    ddb, table = container.dynamodb, _table(container, "jobs_table")
    for p in ("a", "b"):
        for i in range(12):
            ddb.put_item(TableName=table, Item={"pk": {"S": p}, "sk": {"S": f"{i:03d}"}})
    resp = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "b"}, ":s": {"S": "005"}},
        ScanIndexForward=False,
        Limit=3,
    )
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in resp["Items"]] == [("b", "011"), ("b", "010"), ("b", "009")]


def test_stream_keeps_the_newest_records_and_counts_on(container: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextiq.local import moto_fidelity

    monkeypatch.setattr(moto_fidelity, "STREAM_RECORDS_KEPT", 5)
    ddb, table = container.dynamodb, _table(container, "memories_table")
    for i in range(12):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"{i:02d}"}})
    streams = streams_client()
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in records] == ["07", "08", "09", "10", "11"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_shard_iterators_expire_after_fifteen_minutes(container: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto kept every iterator it returned (GetRecords returns a new one per call): a poller leaked forever."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from contextiq.local import moto_fidelity

    now = [1000.0]
    monkeypatch.setattr(moto_fidelity, "_clock", lambda: now[0])
    ddb, table = container.dynamodb, _table(container, "memories_table")
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "0"}})
    streams = streams_client()
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    iterator = iterator["ShardIterator"]
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    for _ in range(200):  # a poller over 100 seconds
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
        now[0] += 0.5
    assert len(backend.shard_iterators) <= 202
    now[0] += 15 * 60
    with pytest.raises(streams.exceptions.ExpiredIteratorException):
        streams.get_records(ShardIterator=iterator)
    assert len(backend.shard_iterators) == 0


def test_stream_poller_resumes_after_an_expired_iterator_without_replaying(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from contextiq.local import moto_fidelity, streams

    now = [1000.0]
    monkeypatch.setattr(moto_fidelity, "_clock", lambda: now[0])
    handed: list[str] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        handed.extend(r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    monkeypatch.setattr(streams, "load_function", lambda _name: SimpleNamespace(handler=handler))
    ddb, table = container.dynamodb, _table(container, "memories_table")
    poller = streams.StreamPoller(ddb, streams_client(), [table])
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"a{i}"}})
    poller.drain()
    now[0] += 16 * 60  # the poller's iterator is older than 15 minutes
    for i in range(2):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"b{i}"}})
    poller.drain()
    assert handed == ["a0", "a1", "a2", "b0", "b1"]
