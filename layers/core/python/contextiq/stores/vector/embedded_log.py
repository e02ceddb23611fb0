"""The embedded index's write-ahead log: framed, CRC-checked records, fsync'd before they are applied.

A record is ``magic "CQW1" | payload length (u32) | crc32(payload) (u32) | payload`` with payload =
``header length (u32) | JSON header | float32 little-endian vector`` (upserts only). Reading stops at the
first torn or corrupt record and cuts the file there, so a crash loses at most the record being written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from contextiq.stores.vector.base import IndexedMemory

log = logging.getLogger(__name__)

_MAGIC = b"CQW1"
_HEADER = struct.Struct("<4sII")  # magic, payload length, crc32(payload)
_U32 = struct.Struct("<I")


def frame(meta: dict[str, Any], vector: bytes = b"") -> bytes:
    head = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()
    payload = _U32.pack(len(head)) + head + vector
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


def encode_upsert(d: IndexedMemory) -> bytes:
    meta = {
        "op": "u",
        "t": d.tenant,
        "m": d.memory_id,
        "s": d.scope_key,
        "f": d.fact,
        "tp": list(d.topics),
        "v": d.version,
        "x": d.expire_at,
        "et": d.event_time,
        "k": d.kind,
        "a": {k: list(v) for k, v in d.attrs.items()},
    }
    return frame(meta, np.asarray(d.vector, dtype="<f4").tobytes())


def encode_delete(tenant: str, memory_id: str, version: int) -> bytes:
    return frame({"op": "d", "t": tenant, "m": memory_id, "v": version})


def encode_forget(tenant: str, doc_id: str) -> bytes:
    return frame({"op": "f", "t": tenant, "m": doc_id})


def decode_upsert(meta: dict[str, Any], vector: bytes) -> IndexedMemory:
    return IndexedMemory(
        tenant=meta["t"],
        memory_id=meta["m"],
        scope_key=meta["s"],
        fact=meta["f"],
        topics=tuple(meta["tp"]),
        vector=np.frombuffer(vector, dtype="<f4"),  # type: ignore[arg-type]
        version=int(meta["v"]),
        expire_at=meta["x"],
        event_time=meta.get("et"),  # logs written before event_time / kinds / attrs existed
        attrs={k: tuple(v) for k, v in (meta.get("a") or {}).items()},
        kind=meta.get("k", "memory"),
    )


def read_records(path: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
    """Valid records in order; truncates the file at the first torn or corrupt record."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            break
        magic, length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        payload = data[start : start + length]
        if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            break
        (head_len,) = _U32.unpack_from(payload, 0)
        meta = json.loads(payload[4 : 4 + head_len])
        yield meta, payload[4 + head_len :]
        pos = start + length
    if pos < len(data):
        log.warning("embedded index: discarding %d bytes of torn log tail in %s", len(data) - pos, path)
        with open(path, "r+b") as f:
            f.truncate(pos)
            f.flush()
            os.fsync(f.fileno())


class WalWriter:
    """Appends records to one log file (unbuffered, fsync'd when ``fsync``)."""

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        # unbuffered: a failed write must not leave bytes in a buffer that a later flush would append
        self._file: IO[bytes] = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open until close()
        self.size = self._file.tell()

    def append(self, records: Sequence[bytes]) -> None:
        buf = b"".join(records)
        start = self.size
        try:
            view = memoryview(buf)
            while view:
                written = self._file.write(view)
                view = view[written or 0 :]
            if self._fsync:
                os.fsync(self._file.fileno())
        except BaseException:
            # e.g. disk full: cut the partial record off so later appends stay readable, then fail the
            # write (nothing was applied in memory)
            with contextlib.suppress(OSError):
                self._file.seek(start)
                self._file.truncate(start)
            raise
        self.size += len(buf)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
