"""The index is derived: the stream indexer and scripts/reindex.py rebuild it from the memories table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.services.indexing import apply_change
from contextiq.stores.dynamo.streams import parse_stream_record
from tests.integration.test_memories_api import SCOPE, _memory, _search

ROOT = Path(__file__).resolve().parents[2]


def _reindex_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("reindex_script", ROOT / "scripts" / "reindex.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["reindex_script"] = module
    spec.loader.exec_module(module)
    return module


def test_reindex_restores_search_after_the_index_is_wiped(api, container) -> None:
    kept = _memory(api, "The user collects vintage cameras")
    deleted = _memory(api, "The user collects stamps")
    api.delete(f"/v1/memories/{deleted['id']}")
    container.vector_index.drop()
    assert _search(api, "collects") == []
    counts = _reindex_module().run(container)
    assert counts["upserted"] == 1 and counts["tombstones"] == 1
    assert [r["memory"]["id"] for r in _search(api, "collects")] == [kept["id"]]


def _stream_records(container, memory_id: str) -> list[dict]:  # type: ignore[type-arg]
    """What the memories table's stream carries for one memory, rebuilt from the table itself."""
    raw = container.dynamodb.get_item(
        TableName=container.settings.memories_table,
        Key={"pk": {"S": f"T#tenant-a#M#{memory_id}"}, "sk": {"S": "MEMORY"}},
    )["Item"]
    return [{"eventName": "MODIFY", "dynamodb": {"NewImage": raw, "Keys": {"pk": raw["pk"], "sk": raw["sk"]}}}]


def apply_stream_record(index, record) -> str:  # type: ignore[no-untyped-def]
    """What the indexer handler does with one record: parse it once, apply the change."""
    return apply_change(index, None, parse_stream_record(DynamoDBRecord(record)))


def test_stream_records_are_idempotent_and_ordered_by_version(api, container) -> None:
    m = _memory(api, "The user lives in Paris")
    v1 = _stream_records(container, m["id"])
    api.patch(f"/v1/memories/{m['id']}", json={"fact": "The user lives in Berlin"})
    v2 = _stream_records(container, m["id"])
    index = container.vector_index
    index.drop()
    from contextiq.stores.vector.factory import index_info_for

    index.ensure(index_info_for(container.embedder))
    assert apply_stream_record(index, v2[0]) == "upserted"
    assert apply_stream_record(index, v1[0]) == "upserted"  # late, older: ignored by version
    apply_stream_record(index, v2[0])  # duplicate delivery
    assert [r["memory"]["fact"] for r in _search(api, "Berlin", mode="keyword")] == ["The user lives in Berlin"]
    assert _search(api, "Paris", mode="keyword") == []
    api.delete(f"/v1/memories/{m['id']}")
    tomb = _stream_records(container, m["id"])
    index.drop()
    index.ensure(index_info_for(container.embedder))
    assert apply_stream_record(index, tomb[0]) == "deleted"
    assert apply_stream_record(index, v2[0]) == "upserted"  # a stale upsert cannot resurrect it
    assert _search(api, "Berlin") == []
    revision = {"eventName": "INSERT", "dynamodb": {"NewImage": {"sk": {"S": "R#x"}}}}
    assert apply_stream_record(index, revision) == "skipped"
    assert SCOPE
