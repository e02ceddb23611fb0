"""The local runtime's journal (contextiq.local.journal) stays bounded while the server runs: past its
size threshold it is compacted into a new snapshot, and snapshot + journal still load to exactly the
tables and queues that were acknowledged, including after a kill between the snapshot's rename and the
journal's truncation.

Counts and sizes only, never time (the wait for the background compaction is a deadline, not a figure).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from contextiq.local import journal as journal_module
from contextiq.local import moto_fidelity
from contextiq.local.journal import Journal

TABLE = "journal-test"


@pytest.fixture
def stores(aws: None) -> tuple[Any, Any, str]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="journal-test-queue")["QueueUrl"]
    return ddb, sqs, queue_url


def _write(ddb: Any, rounds: int) -> None:
    """Inserts, the same item rewritten again and again (the journal grows, the tables do not), deletes."""
    for r in range(rounds):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{r % 7}"}, "sk": {"S": f"s{r}"}, "n": {"N": str(r)}})
        ddb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "counter"}, "sk": {"S": "c"}},
            UpdateExpression="ADD hits :one SET note = :note",
            ExpressionAttributeValues={":one": {"N": "1"}, ":note": {"S": "x" * 200}},
        )
        if r % 5 == 4:
            ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"p{(r - 2) % 7}"}, "sk": {"S": f"s{r - 2}"}})


def _tables(ddb: Any) -> list[dict[str, Any]]:
    items = ddb.scan(TableName=TABLE)["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def _forget_everything(sqs: Any, queue_url: str) -> None:
    """What a new process starts with: the tables and queues exist (bootstrap makes them), empty."""
    dynamodb, sqs_backend = journal_module._backends()
    dynamodb.tables[TABLE].items.clear()
    for queue in sqs_backend.queues.values():
        queue._messages[:] = []
    assert (
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )


def test_a_running_journal_is_compacted_past_its_threshold_and_loads_the_same(
    stores: tuple[Any, Any, str], tmp_path: Path
) -> None:
    ddb, sqs, queue_url = stores
    lines: list[str] = []
    journal = Journal(tmp_path / "tables", fsync_seconds=0.02, compact_bytes=20_000, progress=lines.append)
    journal.load(progress=lines.append)
    journal.start()
    try:
        _write(ddb, 150)  # ~65 KB of after-images: more than three times the threshold
        sqs.send_message(QueueUrl=queue_url, MessageBody="still queued")
        deadline = time.monotonic() + 60
        while journal.compactions < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journal.compactions >= 1, lines
        _write(ddb, 20)  # more changes after the compaction: they are in the new journal
        expected = _tables(ddb)
    finally:
        journal.stop()
    assert any(line.startswith("journal compacted:") for line in lines), lines
    # Bounded: ~75 KB were journalled; what is left is at most the threshold plus the last 20 rounds.
    left = (tmp_path / "tables" / "journal.jsonl").stat().st_size
    assert left < 45_000, f"{left} bytes left in the journal"
    assert (tmp_path / "tables" / "snapshot.jsonl").exists()

    _forget_everything(sqs, queue_url)
    assert _tables(ddb) == []
    counts = Journal(tmp_path / "tables").load(progress=lines.append)
    assert _tables(ddb) == expected
    assert counts["items"] == len(expected)
    counter = next(i for i in expected if i["pk"]["S"] == "counter")
    assert counter["hits"] == {"N": "170"}
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["still queued"]


def test_a_kill_between_the_snapshot_rename_and_the_journal_truncation_loses_and_revives_nothing(
    stores: tuple[Any, Any, str], tmp_path: Path
) -> None:
    ddb, sqs, queue_url = stores
    directory = tmp_path / "tables"
    journal = Journal(directory, progress=lambda _: None)
    journal.load(progress=lambda _: None)
    journal.start()
    try:
        _write(ddb, 40)
    finally:
        journal.stop()
    expected = _tables(ddb)
    old_journal = (directory / "journal.jsonl").read_bytes()
    assert old_journal
    Journal(directory, progress=lambda _: None).compact(progress=lambda _: None)
    assert not (directory / "journal.jsonl").exists()  # compacted while no server ran: removed
    # The snapshot was renamed into place, then the process died before the journal was emptied.
    (directory / "journal.jsonl").write_bytes(old_journal)

    _forget_everything(sqs, queue_url)
    Journal(directory).load(progress=lambda _: None)
    assert _tables(ddb) == expected
    deleted = {"pk": {"S": "p2"}, "sk": {"S": "s37"}}  # r=39 deleted the item written at r=37
    assert ddb.get_item(TableName=TABLE, Key=deleted).get("Item") is None


def test_a_load_builds_the_items_moto_builds_and_leaves_no_instance_tracked(
    stores: tuple[Any, Any, str], tmp_path: Path
) -> None:
    """Loaded items are built without moto's per-attribute size re-check and instance tracking
    (``journal.loaded_item``): they must equal the items moto built for the same writes, every
    attribute type and nesting included, and answer the same requests."""
    from moto.dynamodb.models.dynamo_type import Item

    ddb, sqs, queue_url = stores
    journal = Journal(tmp_path / "tables", progress=lambda _: None)
    journal.load(progress=lambda _: None)
    journal.start()
    every_type = {
        "pk": {"S": "types"},
        "sk": {"S": "t"},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\xffbinary"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"y"]},
        "l": {"L": [{"S": "x"}, {"M": {"deep": {"L": [{"N": "1"}, {"B": b"\x01"}]}}}]},
        "m": {"M": {"a": {"S": "b"}, "n": {"M": {}}, "e": {"L": []}}},
    }
    try:
        ddb.put_item(TableName=TABLE, Item=every_type)
        _write(ddb, 30)
    finally:
        journal.stop()
    dynamodb, _ = journal_module._backends()
    built = {(i.hash_key, i.range_key): i for i in moto_fidelity.original_all(dynamodb.tables[TABLE])}
    expected = _tables(ddb)

    _forget_everything(sqs, queue_url)
    tracked = len(Item.instances_tracked)
    Journal(tmp_path / "tables").load(progress=lambda _: None)
    assert len(Item.instances_tracked) == tracked
    loaded = {(i.hash_key, i.range_key): i for i in moto_fidelity.original_all(dynamodb.tables[TABLE])}
    assert loaded == built
    assert all(loaded[k].to_json() == built[k].to_json() for k in built)
    assert _tables(ddb) == expected
    assert ddb.get_item(TableName=TABLE, Key={"pk": {"S": "types"}, "sk": {"S": "t"}})["Item"] == every_type
    updated = ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "types"}, "sk": {"S": "t"}},
        UpdateExpression="SET m.a = :v, l[1].deep[0] = :n ADD ss :s",
        ExpressionAttributeValues={":v": {"S": "c"}, ":n": {"N": "7"}, ":s": {"SS": ["c"]}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert updated["m"]["M"]["a"] == {"S": "c"} and updated["l"]["L"][1]["M"]["deep"]["L"][0] == {"N": "7"}
    assert set(updated["ss"]["SS"]) == {"a", "b", "c"}
