"""The local stream pollers poll as Lambda's event source mapping does (contextiq.local.streams): a pass
every quarter second, at once again while batches come back full, the stream of each table described
once rather than on every pass; and nothing of that loses, repeats or reorders records. Counts and
order only, never time (the clock is a fake where timing is asserted)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from contextiq.local import streams

from .test_local_moto_scale import _table, streams_client


class Stop:
    """A stop event that records the waits it was asked for and ends the loop after ``passes`` waits."""

    def __init__(self, passes: int = 1) -> None:
        self.waits: list[float] = []
        self.passes = passes

    def is_set(self) -> bool:
        return len(self.waits) >= self.passes

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()


def _put(ddb: Any, table: str, names: list[str]) -> None:
    for name in names:
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": name}})


def _poller(container: Any, monkeypatch: pytest.MonkeyPatch, handler: Any) -> tuple[Any, str]:
    monkeypatch.setattr(streams, "load_function", lambda _name: SimpleNamespace(handler=handler))
    table = _table(container, "memories_table")
    return streams.StreamPoller(container.dynamodb, streams_client(), [table]), table


def test_reads_on_at_once_while_batches_are_full_then_waits_out_the_interval(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        batches.append(len(event["Records"]))
        return {"batchItemFailures": []}

    poller, table = _poller(container, monkeypatch, handler)
    _put(container.dynamodb, table, [f"m{i:03}" for i in range(2 * streams.BATCH_SIZE + 50)])
    stop = Stop(passes=2)
    now = [100.0]

    def clock() -> float:
        now[0] += 0.01  # each reading of the clock: 10 ms later
        return now[0]

    poller.run(stop, interval=0.25, clock=clock)  # type: ignore[arg-type]
    assert batches == [streams.BATCH_SIZE, streams.BATCH_SIZE, 50]
    assert stop.waits == [pytest.approx(0.24), pytest.approx(0.24)]  # two full passes without a wait, then paced


def test_a_failed_full_batch_waits_before_it_is_retried(container: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        records = event["Records"]
        batches.append([r["dynamodb"]["Keys"]["sk"]["S"] for r in records])
        if len(batches) == 1:  # the first record fails once: partial batch failure
            return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    poller, table = _poller(container, monkeypatch, handler)
    names = [f"m{i:03}" for i in range(streams.BATCH_SIZE)]
    _put(container.dynamodb, table, names)
    stop = Stop(passes=2)
    poller.run(stop, interval=0.25, clock=lambda: 0.0)  # type: ignore[arg-type]
    assert stop.waits == [0.25, 0.25]  # no busy retry of a failing batch
    assert batches == [names, names]  # retried from the failed record, in order


def test_describes_each_table_once_not_on_every_pass(container: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    poller, table = _poller(container, monkeypatch, lambda _e, _c: {"batchItemFailures": []})
    calls: list[str] = []
    real = poller._ddb

    class Counting:
        def describe_table(self, **kwargs: Any) -> Any:
            calls.append(kwargs["TableName"])
            return real.describe_table(**kwargs)

    poller._ddb = Counting()
    for i in range(5):
        _put(container.dynamodb, table, [f"d{i}"])
        assert poller.poll_once() == 1
    assert calls == [table]
    monkeypatch.setattr(streams, "DESCRIBE_SECONDS", -1.0)  # due again: looked up on the next pass
    poller.poll_once()
    assert calls == [table, table]


def test_paced_polling_under_concurrent_writes_loses_and_reorders_nothing(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer thread appends while the poller runs its loop; one batch fails part-way once. Every record
    reaches the handler, in write order; the only repeats are the failed record and those after it in its
    batch (at least once, resumed at the first failure)."""
    seen: list[str] = []
    failed_once: list[str] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        records = event["Records"]
        names = [r["dynamodb"]["Keys"]["sk"]["S"] for r in records]
        with lock:
            if not failed_once and len(records) > 2:  # fail the middle record of the first big batch, once
                failed_once.append(names[1])
                seen.extend(names[:1])
                return {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
            seen.extend(names)
        return {"batchItemFailures": []}

    poller, table = _poller(container, monkeypatch, handler)
    names = [f"w{i:04}" for i in range(600)]
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), kwargs={"interval": 0.005})
    thread.start()
    try:
        for chunk in range(0, len(names), 25):
            _put(container.dynamodb, table, names[chunk : chunk + 25])
        for _ in range(2000):
            with lock:
                if len(seen) >= len(names):
                    break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert seen == names
    assert failed_once  # the failure path ran
