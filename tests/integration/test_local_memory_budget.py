"""Memory the local runtime keeps per write, with its workers (stream pollers for the indexer, the notifier
and the generation policies), as `contextiq local` runs them: a bounded budget per write, and what moto
keeps for streams (records, iterators) bounded in count and size.

Assertions on bytes and counts (tracemalloc and moto's own structures), never on time.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest

from contextiq.models.memories import MemoryCreate
from contextiq.models.sessions import EventCreate, SessionCreate

# docs/local-runtime.md, "Memory": moto kept every Item, StreamRecord and ShardIterator it ever built
# (~20 KB and more per write); now the stored item, its packed stream records and its index entry remain.
BUDGET_PER_WRITE = 15_000


def _backends() -> tuple[Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    return dynamodb_backends["123456789012"]["us-east-1"], dynamodbstreams_backends["123456789012"]["us-east-1"]


def _writer(container: Any, pollers: list[Any], sessions: list[str], handled: list[int]) -> Any:
    def drain() -> None:
        handled.append(sum(poller.drain() for poller in pollers))

    def write(first: int, appends: int, memories: int) -> None:
        for i in range(first, first + appends):
            text = f"Message {i}: we talked about kayak and jazz for a while"
            event = EventCreate.model_validate({"author": "user", "content": {"text": text}})
            container.sessions.append_event("t", sessions[i % len(sessions)], event)
            if i % 50 == 49:
                drain()
        for i in range(first, first + memories):
            fact = f"The user likes kayak (note {i}, about jazz)"
            req = MemoryCreate.model_validate({"scope": {"user_id": f"u{i % 10}"}, "fact": fact})
            container.memories.create("t", req, "apikey:k")
            if i % 50 == 49:
                drain()
        drain()

    return write


def test_bytes_kept_per_write_with_the_workers_stay_within_a_fixed_budget(container: Any, workers: Any) -> None:
    """Appends and memory writes while every stream consumer of the local runtime reads the streams: the
    bytes still allocated afterwards, per write, stay under a fixed budget (the stored item, its packed
    stream records and its index entry). Unpacked stream records alone kept ~10 KB per append."""
    from contextiq.local.streams import StreamPoller

    pollers = StreamPoller.all_for_settings(container.settings, container.dynamodb)
    sessions = [container.sessions.create("t", SessionCreate(user_id=f"u{k}")).id for k in range(8)]
    handled: list[int] = []
    write = _writer(container, pollers, sessions, handled)
    write(0, 100, 50)  # warm up: handler modules, caches, the index's partitions
    gc.collect()
    tracemalloc.start(1)
    try:
        before = tracemalloc.get_traced_memory()[0]
        write(1000, 400, 100)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_write = kept / 500
    assert per_write < BUDGET_PER_WRITE, f"{per_write:.0f} bytes kept per write (budget {BUDGET_PER_WRITE})"
    # the workers did their work: every write reached the stream consumers (an append alone is two records)
    assert sum(handled) >= 2 * (100 + 400) + 150


def test_stream_records_are_kept_packed_and_read_back_whole(container: Any) -> None:
    from contextiq.local.moto_fidelity import PackedStreamRecord

    sid = container.sessions.create("t", SessionCreate(user_id="u")).id
    for i in range(20):
        container.sessions.append_event(
            "t", sid, EventCreate.model_validate({"author": "user", "content": {"text": f"m{i}"}})
        )
    dynamodb, _ = _backends()
    shard = dynamodb.tables[container.settings.sessions_table].stream_shard
    assert shard.items and all(isinstance(r, PackedStreamRecord) for r in shard.items)
    # a session update (MODIFY, both images) packed is a small fraction of moto's nested dicts
    assert max(len(r) for r in shard.items) < 2_000
    modify = [r.to_json() for r in shard.items if r.to_json()["eventName"] == "MODIFY"][-1]
    assert modify["dynamodb"]["NewImage"]["last_seq"] == {"N": "20"}
    assert modify["dynamodb"]["OldImage"]["last_seq"] == {"N": "19"}


def test_shard_iterators_are_bounded_in_number_and_pollers_lose_nothing(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poller creates an iterator per GetRecords call; beyond SHARD_ITERATORS_KEPT the oldest are
    forgotten (not only after 15 minutes), and a poller whose iterator was forgotten resumes after its
    last record."""
    from contextiq.local import moto_fidelity
    from contextiq.local.streams import StreamPoller

    monkeypatch.setattr(moto_fidelity, "SHARD_ITERATORS_KEPT", 20)
    seen: list[str] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"].get("sk", {}).get("S", "") for r in event["Records"]]
        seen.extend(k for k in keys if k.startswith("E#"))
        return {"batchItemFailures": []}

    class Module:
        pass

    module = Module()
    module.handler = handler  # type: ignore[attr-defined]
    monkeypatch.setattr("contextiq.local.streams.load_function", lambda _name: module)
    slow = StreamPoller.for_settings(container.settings, container.dynamodb)
    busy = StreamPoller.for_settings(container.settings, container.dynamodb)
    sid = container.sessions.create("t", SessionCreate(user_id="u")).id
    for i in range(5):
        container.sessions.append_event(
            "t", sid, EventCreate.model_validate({"author": "user", "content": {"text": f"a{i}"}})
        )
    slow.drain()
    for _ in range(20):  # another reader polls on: 4 shards a pass, 80 iterators
        busy.poll_once()
    _, streams = _backends()
    assert len(streams.shard_iterators) <= 20 + 4
    for i in range(5, 8):
        container.sessions.append_event(
            "t", sid, EventCreate.model_validate({"author": "user", "content": {"text": f"a{i}"}})
        )
    seen.clear()
    slow.drain()  # its iterators were forgotten: it starts again after the last record it handled
    assert seen == [f"E#{n:010d}" for n in range(6, 9)]
