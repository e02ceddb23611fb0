"""Durable local tables and queues: moto keeps everything in memory, this keeps it on disk.

After every DynamoDB request that changed items, the after-image of each changed item (or its
deletion) is appended to ``journal.jsonl`` as one line; after every SQS request that changed a queue,
that queue's messages are. Each line is written and flushed to the operating system before moto's
answer leaves the server, so a kill -9 loses nothing; a background thread fsyncs once a second, so a
power loss loses at most the last second. After-images (not requests) make replay exact and cheap:
no condition is evaluated twice and a rolled-back transaction replays as the items it left.

``snapshot.jsonl`` holds every item and queue as of the last compaction. Start = snapshot + journal,
then a compaction. While the server runs, the fsync thread compacts too, once the journal holds more
than ``COMPACT_BYTES`` and more than the last snapshot: the journal stays bounded and the cost of
compacting stays proportional to the writes since the last one. A compaction writes the new snapshot
to a temporary file, fsyncs it, renames it over the old one and only then empties the journal; a
kill between the rename and the truncation replays a journal whose after-images the snapshot already
holds, which changes nothing. A torn last line (kill -9 in the middle of a write) is ignored.

DynamoDB Streams records are not kept: stream readers must treat a start as a gap and reconcile
from the tables (the runtime reconciles the vector index with the tables at every start).
In-flight SQS messages come back visible after a restart (at-least-once, as after a visibility
timeout); receive counts are kept, so the dead-letter redrive still happens after maxReceiveCount.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from contextiq.local import moto_fidelity

Progress = Callable[[str], None]
COMPACT_BYTES = 64 * 1024 * 1024  # compact a running server's journal past this size (and past the snapshot's)
ACCOUNT, REGION = "123456789012", "us-east-1"
SQS_CHANGES = {"SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch", "ReceiveMessage", "PurgeQueue"}
MESSAGE_FIELDS = (
    "id",
    "body",
    "message_attributes",
    "sender_id",
    "sent_timestamp",
    "approximate_first_receive_timestamp",
    "approximate_receive_count",
    "deduplication_id",
    "group_id",
    "sequence_number",
    "system_attributes",
)


def _encode(value: Any) -> Any:
    """moto keeps binary attribute values as bytes: store them as {"__b64__": ...} (exact round trip)."""
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__b64__" in obj:
        return base64.b64decode(obj["__b64__"])
    return obj


def loaded_value(wire: dict[str, Any]) -> Any:
    """``DynamoType(wire)`` without its per-node type tests (a load builds millions of them)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    ((kind, value),) = wire.items()
    node = object.__new__(DynamoType)
    node.type = kind
    if kind == "L":
        value = [loaded_value(v) for v in value]
    elif kind == "M":
        value = {k: loaded_value(v) for k, v in value.items()}
    node.value = value
    return node


def loaded_item(hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> Any:
    """moto's ``Item(hash_key, range_key, attrs)`` for an item that was already accepted once, built
    without what its constructor adds (both measured on a start, docs/local-runtime.md):

    - ``LimitedSizeDict.__setitem__`` re-sums the size of every attribute already set, recursively, on
      each attribute set (quadratic in the attributes; ~80 % of a load's time);
    - ``BaseModel.__new__`` appends every instance to ``Item.instances_tracked``, a class-level list
      that is never emptied in a running server: every loaded item (and every after-image a journal
      replaces) would stay alive for the life of the process."""
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    item = object.__new__(Item)
    item.hash_key = hash_key
    item.range_key = range_key
    values = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(values, {name: loaded_value(value) for name, value in attrs.items()})
    item.attrs = values
    return item


def dumps(entry: Any) -> str:
    return json.dumps(entry, separators=(",", ":"), default=_encode)


def _backends() -> tuple[Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    return dynamodb_backends[ACCOUNT][REGION], sqs_backends[ACCOUNT][REGION]


def _message_json(message: Any) -> dict[str, Any]:
    return {name: getattr(message, name) for name in MESSAGE_FIELDS}


def _message(data: dict[str, Any]) -> Any:
    from moto.sqs.models import Message

    message = Message(data["id"], data["body"], data.get("system_attributes"))
    for name in MESSAGE_FIELDS:
        if name in data:
            setattr(message, name, data[name])
    return message


class Journal:
    """Load the tables and queues moto was just given from ``directory``; then record every change."""

    def __init__(
        self,
        directory: Path,
        fsync_seconds: float = 1.0,
        compact_bytes: int = COMPACT_BYTES,
        progress: Progress = print,
    ) -> None:
        self.directory = directory
        self.snapshot_path = directory / "snapshot.jsonl"
        self.journal_path = directory / "journal.jsonl"
        self.fsync_seconds = fsync_seconds
        self.compact_bytes = compact_bytes
        self.progress = progress
        self.compactions = 0  # while running (tests read it)
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._retry_at = 0.0
        self._file: IO[str] | None = None
        self._write_lock = threading.Lock()
        self._dirty = False
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None
        self._queue_marks: dict[str, Any] = {}
        self._sqs_patched = False

    # -- start: load -------------------------------------------------------------------------------
    def load(self, progress: Progress = print) -> dict[str, int]:
        """Apply snapshot then journal to moto's backends. Returns counts (items, queued messages, lines)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # API key hashes and every user's data
        dynamodb, sqs = _backends()
        counts = {"items": 0, "messages": 0, "journal_lines": 0}
        queues: dict[str, list[dict[str, Any]]] = {}
        with moto_fidelity.dynamodb_lock():
            for kind, entry in self._entries(self.snapshot_path, progress, "snapshot"):
                if kind == "i":
                    self._apply_item(dynamodb, entry["t"], entry["i"], None)
                elif kind == "q":
                    queues.update(entry)
            for kind, entry in self._entries(self.journal_path, progress, "journal"):
                counts["journal_lines"] += 1
                if kind == "d":
                    for change in entry:
                        self._apply_item(dynamodb, change["t"], change.get("i"), change.get("k"))
                elif kind == "q":
                    queues.update(entry)
            counts["items"] = sum(sum(1 for _ in moto_fidelity.original_all(t)) for t in dynamodb.tables.values())
        for name, messages in queues.items():
            queue = sqs.queues.get(name)
            if queue is None:
                progress(f"  queue {name} no longer exists: {len(messages)} message(s) dropped")
                continue
            with queue._messages_lock:
                queue._messages[:] = [_message(m) for m in messages]
            counts["messages"] += len(messages)
        return counts

    def _entries(self, path: Path, progress: Progress, label: str) -> Iterator[tuple[str, Any]]:
        if not path.exists():
            return
        size = path.stat().st_size
        started, shown = time.monotonic(), time.monotonic()
        with path.open("rb") as data:
            for number, raw in enumerate(data, 1):
                try:  # the hook costs a call per object: only lines with a binary value need it
                    line = json.loads(raw, object_hook=_decode) if b"__b64__" in raw else json.loads(raw)
                except ValueError:
                    if data.read(1):
                        raise RuntimeError(f"{path}: line {number} is corrupt (not the last line)") from None
                    progress(f"  {label}: ignored a torn last line (the process was killed mid-write)")
                    return
                yield next(iter(line.items()))
                if time.monotonic() - shown > 2:
                    shown = time.monotonic()
                    progress(f"  {label}: {data.tell() * 100 // max(size, 1)}% ({number:,} lines)")
        if size > 10_000_000:
            progress(f"  {label}: {size / 1e6:.0f} MB read in {time.monotonic() - started:.1f} s")

    @staticmethod
    def _apply_item(dynamodb: Any, table_name: str, attrs: dict[str, Any] | None, key: Any) -> None:
        table = dynamodb.tables.get(table_name)
        if table is None:
            return
        if attrs is not None:
            hash_key = loaded_value(attrs[table.hash_key_attr])
            range_key = loaded_value(attrs[table.range_key_attr]) if table.range_key_attr else None
        else:
            hash_key = loaded_value(key[0])
            range_key = loaded_value(key[1]) if key[1] is not None else None
        if range_key is not None:
            if attrs is None:
                partition = table.items.get(hash_key)
                if partition is not None:
                    partition.pop(range_key, None)
                    if not partition:
                        del table.items[hash_key]
            else:
                table.items[hash_key][range_key] = loaded_item(hash_key, range_key, attrs)
        elif attrs is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = loaded_item(hash_key, None, attrs)

    # -- compaction --------------------------------------------------------------------------------
    def compact(self, progress: Progress = print) -> int:
        """Write every item and queue to a new snapshot, then empty the journal. Returns items written."""
        dynamodb, sqs = _backends()
        tmp = self.snapshot_path.with_name("snapshot.jsonl.tmp")
        written = 0
        with moto_fidelity.dynamodb_lock(), self._write_lock, tmp.open("w") as out:
            for name, table in dynamodb.tables.items():
                for item in moto_fidelity.original_all(table):
                    out.write(dumps({"i": {"t": name, "i": item.to_json()["Attributes"]}}) + "\n")
                    written += 1
            out.write(dumps({"q": self._queue_state(sqs, only_changed=False)}) + "\n")
            out.flush()
            os.fsync(out.fileno())
            self._snapshot_bytes = out.tell()
            os.replace(tmp, self.snapshot_path)
            self._fsync_dir()  # the rename is durable before the journal is emptied
            if self._file is not None:
                self._file.truncate(0)
                self._file.seek(0)
            elif self.journal_path.exists():
                self.journal_path.unlink()
            self._journal_bytes = 0
            self._fsync_dir()
        return written

    def _due(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        return self._journal_bytes > max(self.compact_bytes, self._snapshot_bytes)

    def _compact_running(self) -> None:
        started = time.monotonic()
        size = self._journal_bytes
        written = self.compact(self.progress)
        self.compactions += 1
        self.progress(
            f"journal compacted: {size / 1e6:.0f} MB of changes into a snapshot of {written:,} items "
            f"({self._snapshot_bytes / 1e6:.0f} MB) in {time.monotonic() - started:.1f} s"
        )

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- running: record ---------------------------------------------------------------------------
    def start(self) -> None:
        """Record every change from now on."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = self.journal_path.open("a")
        self._journal_bytes = self._file.tell()
        if self.snapshot_path.exists():
            self._snapshot_bytes = self.snapshot_path.stat().st_size
        _, sqs = _backends()
        self._queue_state(sqs, only_changed=True)  # remember what is already on disk
        moto_fidelity.add_request_listener(self._dynamodb_changed)
        self._patch_sqs()
        self._stop.clear()
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-fsync", daemon=True)
        self._syncer.start()

    def stop(self) -> None:
        from moto.sqs.responses import SQSResponse

        moto_fidelity.remove_request_listener(self._dynamodb_changed)
        if getattr(SQSResponse, "_contextiq_journal", None) is self:
            SQSResponse._contextiq_journal = None  # type: ignore[attr-defined]
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
        with self._write_lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None

    def _write(self, entry: dict[str, Any]) -> None:
        with self._write_lock:
            self._write_locked(entry)

    def _write_locked(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = dumps(entry) + "\n"
        self._file.write(line)
        self._file.flush()  # in the kernel now: survives kill -9
        self._journal_bytes += len(line)
        self._dirty = True

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_seconds):
            with self._write_lock:
                if self._dirty and self._file is not None:
                    os.fsync(self._file.fileno())
                    self._dirty = False
            if self._due():
                try:
                    self._compact_running()
                except OSError as error:  # a full disk, say: keep journalling, try again in a minute
                    self._retry_at = time.monotonic() + 60
                    self.progress(f"journal compaction failed ({error}); the journal keeps every change")

    def _dynamodb_changed(self, changed: list[tuple[Any, Any, Any]]) -> None:
        entries = []
        for table, hash_key, range_key in changed:
            item = table.get_item(hash_key, range_key) if range_key is not None else table.items.get(hash_key)
            if item is not None:
                entries.append({"t": table.name, "i": item.to_json()["Attributes"]})
            else:
                entries.append({"t": table.name, "k": [hash_key.to_json(), range_key.to_json() if range_key else None]})
        self._write({"d": entries})

    def _queue_state(self, sqs: Any, only_changed: bool) -> dict[str, list[dict[str, Any]]]:
        """Messages of every queue (or of those that changed since the last call)."""
        state = {}
        for name, queue in list(sqs.queues.items()):
            messages = list(queue._messages)
            mark = [(m.id, m.approximate_receive_count) for m in messages]
            if only_changed and self._queue_marks.get(name) == mark:
                continue
            self._queue_marks[name] = mark
            state[name] = [_message_json(m) for m in messages]
        return state

    def _sqs_changed(self) -> None:
        _, sqs = _backends()
        with self._write_lock:  # read and write under one lock: the last line is the newest state
            state = self._queue_state(sqs, only_changed=True)
            if state:
                self._write_locked({"q": state})

    def _patch_sqs(self) -> None:
        from moto.sqs.responses import SQSResponse

        journal = self
        if getattr(SQSResponse, "_contextiq_journal", None) is None:
            original = SQSResponse.call_action

            def call_action(response: Any) -> Any:
                result = original(response)
                active = getattr(SQSResponse, "_contextiq_journal", None)
                if active is not None and response._get_action() in SQS_CHANGES:
                    active._sqs_changed()
                return result

            SQSResponse.call_action = call_action  # type: ignore[method-assign,assignment]
        SQSResponse._contextiq_journal = journal  # type: ignore[attr-defined]
