"""The embedded vector index: exact cosine + BM25 in numpy, persisted under a directory.

Layout of ``path`` (``.contextiq/index/`` in the local runtime)::

    meta.json          IndexInfo (model_id, dimensions), written once by ensure() (temp + os.replace)
    snapshot.npz       every live row and tombstone as of generation ``gen`` (temp + os.replace)
    wal-<gen>.log      write-ahead log of the upserts/deletes applied since that snapshot
    index.lock         an exclusive flock: one process owns the index at a time

Every accepted change is appended to the write-ahead log (framed and CRC-checked, fsync'd by
default) before it is applied in memory. On open, the snapshot is loaded and the log replayed up to
its first torn or corrupt record, so a crash at any point loses at most the change being written.
When the log outgrows ``max(snapshot_min_bytes, size of the last snapshot / 2)`` a new snapshot is
written (temp file, fsync, ``os.replace``) and the log restarts: the cost of snapshots stays
amortised while the log stays bounded.

In memory, documents are partitioned by (tenant, scope_key): a search touches only its partition. A
partition keeps one contiguous float32 matrix (append-only; an update appends a new row and marks
the old one dead) plus numpy arrays for liveness, versions and expiry, per-topic row lists, and an
incremental BM25 index (``bm25.py``). Dead rows are masked out and a partition is rebuilt once a
quarter of its rows are dead. Searches are vectorised: one matrix-vector product for cosine, a few
posting-list gathers for BM25, ``argpartition`` for the top k.

Versions: a (tenant, memory_id) keeps the highest version seen, live or tombstoned; an upsert or
delete at an equal or lower version is ignored (so replays and out-of-order deliveries are harmless).
Tombstones are kept until the index is dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from contextiq.stores.vector.base import (
    IndexedMemory,
    IndexInfo,
    IndexMismatchError,
    SearchHit,
    SearchQuery,
)
from contextiq.stores.vector.bm25 import Bm25Index, GrowableArray
from contextiq.stores.vector.fusion import (
    DEFAULT_KEYWORD_WEIGHT,
    Scored,
    finalize,
    fuse,
    hybrid_pool,
)
from contextiq.stores.vector.text import tokenize

try:  # POSIX only; on other systems the single-process rule is not enforced
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

NO_EXPIRY = np.iinfo(np.int64).max
NO_TIME = np.iinfo(np.int64).min  # no event_time: never matches an after/before filter
FORMAT_VERSION = 1
_META = "meta.json"
_SNAPSHOT = "snapshot.npz"
_LOCK = "index.lock"
_WAL_MAGIC = b"CQW1"
_WAL_HEADER = struct.Struct("<4sII")  # magic, payload length, crc32(payload)
_U32 = struct.Struct("<I")

DocKey = tuple[str, str]  # (tenant, memory_id)
PartKey = tuple[str, str]  # (tenant, scope_key)


class IndexLockedError(RuntimeError):
    """Another process has this embedded index open."""


@dataclass
class _Doc:
    """One document to append to a partition."""

    memory_id: str
    fact: str
    topics: tuple[str, ...]
    version: int
    expire_at: int | None
    vector: np.ndarray
    event_time: int | None = None


class _Partition:
    """All rows of one (tenant, scope_key)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        cap = 16
        self.vectors = np.zeros((cap, dim), dtype=np.float32)
        self.alive = np.zeros(cap, dtype=bool)
        self.expire = np.full(cap, NO_EXPIRY, dtype=np.int64)
        self.version = np.zeros(cap, dtype=np.int64)
        self.etime = np.full(cap, NO_TIME, dtype=np.int64)
        self.n = 0
        self.dead = 0
        self.ids: list[str] = []
        self.facts: list[str] = []
        self.topics: list[tuple[str, ...]] = []
        self.row_of: dict[str, int] = {}
        self.topic_rows: dict[str, GrowableArray] = {}
        self.bm25 = Bm25Index()

    @property
    def live(self) -> int:
        return self.n - self.dead

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = self.vectors.shape[0]
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        vectors = np.zeros((new_cap, self.dim), dtype=np.float32)
        vectors[: self.n] = self.vectors[: self.n]
        alive = np.zeros(new_cap, dtype=bool)
        alive[: self.n] = self.alive[: self.n]
        expire = np.full(new_cap, NO_EXPIRY, dtype=np.int64)
        expire[: self.n] = self.expire[: self.n]
        version = np.zeros(new_cap, dtype=np.int64)
        version[: self.n] = self.version[: self.n]
        etime = np.full(new_cap, NO_TIME, dtype=np.int64)
        etime[: self.n] = self.etime[: self.n]
        self.vectors, self.alive, self.expire, self.version, self.etime = vectors, alive, expire, version, etime

    def append(self, docs: Sequence[_Doc], vectors: np.ndarray | None = None) -> None:
        """Append rows; ``vectors`` (n, dim) may be given pre-stacked instead of per-doc."""
        if not docs:
            return
        block = np.asarray(vectors if vectors is not None else np.stack([d.vector for d in docs]), np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = (block / np.where(norms > 0, norms, np.float32(1.0))).astype(np.float32, copy=False)
        self._reserve(len(docs))
        start = self.n
        end = start + len(docs)
        self.vectors[start:end] = block
        self.alive[start:end] = True
        self.expire[start:end] = [NO_EXPIRY if d.expire_at is None else d.expire_at for d in docs]
        self.version[start:end] = [d.version for d in docs]
        self.etime[start:end] = [NO_TIME if d.event_time is None else d.event_time for d in docs]
        for offset, d in enumerate(docs):
            row = start + offset
            self.ids.append(d.memory_id)
            self.facts.append(d.fact)
            self.topics.append(d.topics)
            self.row_of[d.memory_id] = row
            for topic in set(d.topics):
                rows = self.topic_rows.get(topic)
                if rows is None:
                    rows = self.topic_rows[topic] = GrowableArray(np.int32, 4)
                rows.append(row)
        self.bm25.add(start, [tokenize(d.fact) for d in docs])
        self.n = end

    def kill(self, memory_id: str) -> bool:
        row = self.row_of.pop(memory_id, None)
        if row is None:
            return False
        self.alive[row] = False
        self.bm25.remove(tokenize(self.facts[row]))
        self.dead += 1
        return True

    def needs_compaction(self) -> bool:
        return self.dead >= 64 and self.dead * 4 >= self.n

    def live_rows(self) -> np.ndarray:
        return np.flatnonzero(self.alive[: self.n])

    def compacted(self) -> _Partition:
        rows = self.live_rows()
        fresh = _Partition(self.dim)
        fresh.append(
            [
                _Doc(
                    self.ids[r],
                    self.facts[r],
                    self.topics[r],
                    int(self.version[r]),
                    None if self.expire[r] == NO_EXPIRY else int(self.expire[r]),
                    self.vectors[r],
                    None if self.etime[r] == NO_TIME else int(self.etime[r]),
                )
                for r in rows.tolist()
            ],
            vectors=self.vectors[rows],
        )
        return fresh

    # -- search ------------------------------------------------------------------------------------

    def mask(self, now: int, topics: Sequence[str], after: int | None = None, before: int | None = None) -> np.ndarray:
        n = self.n
        mask = self.alive[:n] & (self.expire[:n] > now)
        if after is not None or before is not None:
            etime = self.etime[:n]
            mask &= etime != NO_TIME
            if after is not None:
                mask &= etime >= after
            if before is not None:
                mask &= etime < before
        if topics:
            wanted = np.zeros(n, dtype=bool)
            for topic in set(topics):
                rows = self.topic_rows.get(topic)
                if rows is not None:
                    wanted[rows.view()] = True
            mask &= wanted
        return mask

    def _top(self, scores: np.ndarray, mask: np.ndarray, limit: int) -> list[Scored]:
        cand = np.flatnonzero(mask)
        if cand.size == 0 or limit <= 0:
            return []
        vals = scores[cand]
        if cand.size > limit:
            part = np.argpartition(-vals, limit - 1)[:limit]
            cand, vals = cand[part], vals[part]
        order = np.argsort(-vals, kind="stable")
        return [
            Scored(self.ids[r], float(s), int(self.version[r]))
            for r, s in zip(cand[order].tolist(), vals[order].tolist(), strict=True)
        ]

    def semantic(self, query: np.ndarray, mask: np.ndarray, limit: int) -> list[Scored]:
        if self.n == 0:
            return []
        cos = self.vectors[: self.n] @ query
        scores = np.clip((1.0 + cos) * 0.5, 0.0, 1.0)
        return self._top(scores, mask, limit)

    def keyword(self, tokens: Sequence[str], mask: np.ndarray, limit: int, coverage: bool = False) -> list[Scored]:
        scores = self.bm25.scores(tokens, coverage=coverage)
        if scores is None:
            return []
        return self._top(scores, mask & (scores > 0), limit)


class EmbeddedVectorIndex:
    """A VectorIndex for one process, persisted under ``path``; see the module docstring."""

    def __init__(
        self,
        path: Path | str,
        *,
        fsync: bool = True,
        lock: bool = True,
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        snapshot_min_bytes: int = 32 << 20,
    ) -> None:
        self._path = Path(path)
        self._path.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._keyword_weight = keyword_weight
        self._snapshot_min_bytes = snapshot_min_bytes
        self._mutex = threading.RLock()
        self._lock_fd: int | None = None
        self._closed = False
        self._info: IndexInfo | None = None
        self._parts: dict[PartKey, _Partition] = {}
        self._docs: dict[DocKey, tuple[int, str | None]] = {}  # version, scope_key (None = tombstone)
        self._gen = 0
        self._wal: IO[bytes] | None = None
        self._wal_bytes = 0
        self._snapshot_bytes = 0
        if lock:
            self._acquire_lock()
        try:
            self._load()
        except BaseException:
            self._release_lock()
            raise

    @property
    def path(self) -> Path:
        return self._path

    @property
    def info(self) -> IndexInfo | None:
        return self._info

    # -- VectorIndex -------------------------------------------------------------------------------

    def ensure(self, info: IndexInfo) -> None:
        with self._mutex:
            self._check_open()
            if self._info is not None:
                if self._info != info:
                    raise IndexMismatchError(self._mismatch_message(self._info, info))
                return
            self._clear_data_files()
            self._write_atomic(self._path / _META, json.dumps(self._meta_doc(info), indent=2).encode())
            self._info = info
            self._gen = 0
            self._snapshot_bytes = 0
            self._open_wal()

    def upsert(self, docs: Sequence[IndexedMemory]) -> None:
        with self._mutex:
            info = self._require_info()
            for d in docs:
                if len(d.vector) != info.dimensions:
                    raise IndexMismatchError(
                        f"memory {d.memory_id} has a {len(d.vector)}-dimensional vector; the index at "
                        f"{self._path} holds {info.dimensions}-dimensional vectors of {info.model_id}"
                    )
            accepted = self._accept(docs)
            if not accepted:
                return
            self._log_records([self._encode_upsert(d) for d in accepted])
            touched = self._apply_upserts(accepted)
            self._maintain(touched)

    def delete(self, tenant: str, memory_id: str, version: int) -> None:
        with self._mutex:
            self._require_info()
            stored = self._docs.get((tenant, memory_id))
            if stored is not None and stored[0] >= version:
                return
            self._log_records([self._encode_delete(tenant, memory_id, version)])
            touched = self._apply_delete(tenant, memory_id, version)
            self._maintain(touched)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        with self._mutex:
            self._check_open()
            if self._info is None or query.top_k <= 0:
                return []
            mode = query.mode
            if mode == "hybrid" and query.vector is None:
                mode = "keyword"
            vec = self._query_vector(query.vector) if mode != "keyword" else None
            part = self._parts.get((query.tenant, query.scope_key))
            if part is None or part.live == 0:
                return []
            now = query.now if query.now > 0 else int(time.time())
            mask = part.mask(now, query.topics, query.after, query.before)
            if vec is None:
                hits = part.keyword(tokenize(query.text), mask, query.top_k)
            else:
                if mode == "semantic":
                    hits = part.semantic(vec, mask, query.top_k)
                else:
                    pool = hybrid_pool(query.top_k)
                    hits = fuse(
                        part.semantic(vec, mask, pool),
                        part.keyword(tokenize(query.text), mask, pool, coverage=True),
                        self._keyword_weight,
                    )
            return finalize(hits, query.top_k, query.min_score)

    def drop(self) -> None:
        with self._mutex:
            self._check_open()
            self._close_wal()
            # meta first: a crash half-way leaves data without meta, which _load() discards
            with contextlib.suppress(FileNotFoundError):
                (self._path / _META).unlink()
            self._clear_data_files()
            self._info = None
            self._parts.clear()
            self._docs.clear()
            self._gen = 0
            self._wal_bytes = 0
            self._snapshot_bytes = 0

    # -- extras --------------------------------------------------------------------------------------

    def snapshot(self) -> None:
        """Write a snapshot now and restart the log (also done automatically and on close)."""
        with self._mutex:
            self._check_open()
            if self._info is not None:
                self._write_snapshot()

    def close(self) -> None:
        """Snapshot if the log is not empty, close files and release the process lock."""
        with self._mutex:
            if self._closed:
                return
            try:
                if self._info is not None and self._wal_bytes > 0:
                    self._write_snapshot()
            finally:
                self._close_wal()
                self._release_lock()
                self._closed = True

    def __enter__(self) -> EmbeddedVectorIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        with self._mutex:
            return {
                "partitions": len(self._parts),
                "live": sum(p.live for p in self._parts.values()),
                "rows": sum(p.n for p in self._parts.values()),
                "tombstones": sum(1 for _, s in self._docs.values() if s is None),
                "wal_bytes": self._wal_bytes,
                "snapshot_bytes": self._snapshot_bytes,
                "generation": self._gen,
            }

    # -- applying changes ----------------------------------------------------------------------------

    def _accept(self, docs: Sequence[IndexedMemory]) -> list[IndexedMemory]:
        """Drop documents not newer than what is stored; within the batch keep the highest version."""
        best: dict[DocKey, IndexedMemory] = {}
        for d in docs:
            key = (d.tenant, d.memory_id)
            stored = self._docs.get(key)
            if stored is not None and stored[0] >= d.version:
                continue
            prev = best.get(key)
            if prev is not None and prev.version >= d.version:
                continue
            best[key] = d
        return list(best.values())

    def _apply_upserts(self, docs: Sequence[IndexedMemory]) -> set[PartKey]:
        assert self._info is not None
        by_part: dict[PartKey, list[_Doc]] = {}
        for d in docs:
            key = (d.tenant, d.memory_id)
            stored = self._docs.get(key)
            if stored is not None and stored[1] is not None:
                old = self._parts.get((d.tenant, stored[1]))
                if old is not None:
                    old.kill(d.memory_id)
                    by_part.setdefault((d.tenant, stored[1]), [])
            self._docs[key] = (d.version, d.scope_key)
            by_part.setdefault((d.tenant, d.scope_key), []).append(
                _Doc(
                    d.memory_id,
                    d.fact,
                    tuple(d.topics),
                    d.version,
                    d.expire_at,
                    np.asarray(d.vector, dtype=np.float32),
                    d.event_time,
                )
            )
        for pkey, rows in by_part.items():
            if rows:
                part = self._parts.get(pkey)
                if part is None:
                    part = self._parts[pkey] = _Partition(self._info.dimensions)
                part.append(rows)
        return set(by_part)

    def _apply_delete(self, tenant: str, memory_id: str, version: int) -> set[PartKey]:
        stored = self._docs.get((tenant, memory_id))
        touched: set[PartKey] = set()
        if stored is not None and stored[1] is not None:
            part = self._parts.get((tenant, stored[1]))
            if part is not None and part.kill(memory_id):
                touched.add((tenant, stored[1]))
        self._docs[(tenant, memory_id)] = (version, None)
        return touched

    def _maintain(self, touched: set[PartKey]) -> None:
        for pkey in touched:
            part = self._parts.get(pkey)
            if part is None:
                continue
            if part.live == 0:
                del self._parts[pkey]
            elif part.needs_compaction():
                self._parts[pkey] = part.compacted()
        if self._wal_bytes > max(self._snapshot_min_bytes, self._snapshot_bytes // 2):
            self._write_snapshot()

    # -- write-ahead log -----------------------------------------------------------------------------

    def _wal_path(self, gen: int) -> Path:
        return self._path / f"wal-{gen:08d}.log"

    def _open_wal(self) -> None:
        self._close_wal()
        path = self._wal_path(self._gen)
        # unbuffered: a failed write must not leave bytes in a buffer that a later flush would append
        self._wal = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for the index's lifetime
        self._wal_bytes = self._wal.tell()

    def _close_wal(self) -> None:
        if self._wal is not None:
            with contextlib.suppress(OSError):
                self._wal.close()
            self._wal = None

    @staticmethod
    def _frame(meta: dict[str, Any], vector: bytes = b"") -> bytes:
        head = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()
        payload = _U32.pack(len(head)) + head + vector
        return _WAL_HEADER.pack(_WAL_MAGIC, len(payload), zlib.crc32(payload)) + payload

    def _encode_upsert(self, d: IndexedMemory) -> bytes:
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
        }
        return self._frame(meta, np.asarray(d.vector, dtype="<f4").tobytes())

    def _encode_delete(self, tenant: str, memory_id: str, version: int) -> bytes:
        return self._frame({"op": "d", "t": tenant, "m": memory_id, "v": version})

    def _log_records(self, records: Sequence[bytes]) -> None:
        if self._wal is None:
            self._open_wal()
        assert self._wal is not None
        buf = b"".join(records)
        start = self._wal_bytes
        try:
            view = memoryview(buf)
            while view:
                written = self._wal.write(view)
                view = view[written or 0 :]
            if self._fsync:
                os.fsync(self._wal.fileno())
        except BaseException:
            # e.g. disk full: cut the partial record off so later appends stay readable, then fail the
            # write (nothing was applied in memory)
            with contextlib.suppress(OSError):
                self._wal.seek(start)
                self._wal.truncate(start)
            raise
        self._wal_bytes += len(buf)

    def _read_wal(self, path: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
        """Valid records in order; truncates the file at the first torn or corrupt record."""
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            if pos + _WAL_HEADER.size > len(data):
                break
            magic, length, crc = _WAL_HEADER.unpack_from(data, pos)
            start = pos + _WAL_HEADER.size
            payload = data[start : start + length]
            if magic != _WAL_MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
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

    def _replay(self, path: Path) -> None:
        assert self._info is not None
        pending: list[IndexedMemory] = []

        def flush() -> None:
            if pending:
                self._apply_upserts(self._accept(pending))
                pending.clear()

        for meta, vec in self._read_wal(path):
            if meta["op"] == "u":
                pending.append(
                    IndexedMemory(
                        tenant=meta["t"],
                        memory_id=meta["m"],
                        scope_key=meta["s"],
                        fact=meta["f"],
                        topics=tuple(meta["tp"]),
                        vector=np.frombuffer(vec, dtype="<f4"),  # type: ignore[arg-type]
                        version=int(meta["v"]),
                        expire_at=meta["x"],
                        event_time=meta.get("et"),
                    )
                )
            elif meta["op"] == "d":
                flush()
                stored = self._docs.get((meta["t"], meta["m"]))
                if stored is None or stored[0] < int(meta["v"]):
                    self._apply_delete(meta["t"], meta["m"], int(meta["v"]))
        flush()

    # -- snapshot ------------------------------------------------------------------------------------

    def _write_snapshot(self) -> None:
        assert self._info is not None
        new_gen = self._gen + 1
        arrays: dict[str, np.ndarray] = {}
        partitions = []
        for i, ((tenant, scope), part) in enumerate(sorted(self._parts.items())):
            rows = part.live_rows()
            arrays[f"v{i}"] = part.vectors[rows]
            rl = rows.tolist()
            partitions.append(
                {
                    "tenant": tenant,
                    "scope_key": scope,
                    "ids": [part.ids[r] for r in rl],
                    "facts": [part.facts[r] for r in rl],
                    "topics": [list(part.topics[r]) for r in rl],
                    "versions": part.version[rows].tolist(),
                    "expire_at": [None if e == NO_EXPIRY else e for e in part.expire[rows].tolist()],
                    "event_time": [None if e == NO_TIME else e for e in part.etime[rows].tolist()],
                }
            )
        meta = {
            "format": FORMAT_VERSION,
            "gen": new_gen,
            "info": {"model_id": self._info.model_id, "dimensions": self._info.dimensions},
            "partitions": partitions,
            "tombstones": [[t, m, v] for (t, m), (v, s) in self._docs.items() if s is None],
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        tmp = self._path / (_SNAPSHOT + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path / _SNAPSHOT)
        self._fsync_dir()
        old_wal = self._wal_path(self._gen)
        self._close_wal()
        self._gen = new_gen
        self._open_wal()
        with contextlib.suppress(FileNotFoundError):
            old_wal.unlink()
        self._snapshot_bytes = (self._path / _SNAPSHOT).stat().st_size
        # the rebuilt-from-live-rows layout is what a reload would produce: compact in memory too
        for pkey, part in list(self._parts.items()):
            if part.dead:
                self._parts[pkey] = part.compacted()

    def _load_snapshot(self, path: Path) -> int:
        assert self._info is not None
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes())
            info = IndexInfo(meta["info"]["model_id"], int(meta["info"]["dimensions"]))
            if info != self._info:
                raise IndexMismatchError(f"snapshot {path} was written for {info}, but meta.json says {self._info}")
            for i, p in enumerate(meta["partitions"]):
                vectors = npz[f"v{i}"]
                times = p.get("event_time") or [None] * len(p["ids"])  # snapshots written before event_time
                docs = [
                    _Doc(mid, fact, tuple(tp), int(v), x, vectors[j], et)
                    for j, (mid, fact, tp, v, x, et) in enumerate(
                        zip(p["ids"], p["facts"], p["topics"], p["versions"], p["expire_at"], times, strict=True)
                    )
                ]
                part = _Partition(self._info.dimensions)
                part.append(docs, vectors=vectors)
                self._parts[(p["tenant"], p["scope_key"])] = part
                for d in docs:
                    self._docs[(p["tenant"], d.memory_id)] = (d.version, p["scope_key"])
            for tenant, memory_id, version in meta["tombstones"]:
                self._docs[(tenant, memory_id)] = (int(version), None)
        return int(meta["gen"])

    # -- files -----------------------------------------------------------------------------------------

    def _load(self) -> None:
        meta_path = self._path / _META
        if not meta_path.exists():
            self._clear_data_files()  # leftovers of an interrupted drop()
            return
        meta = json.loads(meta_path.read_text())
        self._info = IndexInfo(meta["model_id"], int(meta["dimensions"]))
        snap = self._path / _SNAPSHOT
        if snap.exists():
            self._gen = self._load_snapshot(snap)
            self._snapshot_bytes = snap.stat().st_size
        wal = self._wal_path(self._gen)
        if wal.exists():
            self._replay(wal)
        for other in self._path.glob("wal-*.log"):
            if other != wal:  # older generations are already in the snapshot
                other.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self._path / (_SNAPSHOT + ".tmp")).unlink()
        self._open_wal()

    def _clear_data_files(self) -> None:
        for p in [*self._path.glob("wal-*.log"), self._path / _SNAPSHOT, self._path / (_SNAPSHOT + ".tmp")]:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        if not self._fsync or os.name != "posix":
            return
        fd = os.open(self._path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _acquire_lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self._path / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise IndexLockedError(
                f"the embedded index at {self._path} is open in another process (or another "
                "EmbeddedVectorIndex in this one); it supports a single owner: close the other first"
            ) from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # -- helpers ---------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the embedded index at {self._path} is closed")

    def _require_info(self) -> IndexInfo:
        self._check_open()
        if self._info is None:
            raise RuntimeError(f"the embedded index at {self._path} does not exist: call ensure() first")
        return self._info

    def _query_vector(self, vector: Sequence[float] | None) -> np.ndarray:
        assert self._info is not None
        if vector is None:
            raise ValueError("semantic search needs a query vector")
        q = np.asarray(vector, dtype=np.float32)
        if q.shape != (self._info.dimensions,):
            raise IndexMismatchError(
                f"query vector has {q.size} dimensions; the index holds {self._info.dimensions}-dimensional "
                f"vectors of {self._info.model_id}"
            )
        norm = float(np.linalg.norm(q))
        return q / norm if norm > 0 else q

    @staticmethod
    def _meta_doc(info: IndexInfo) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "model_id": info.model_id, "dimensions": info.dimensions}

    def _mismatch_message(self, have: IndexInfo, want: IndexInfo) -> str:
        return (
            f"the embedded index at {self._path} was built with {have.model_id} ({have.dimensions} dims) "
            f"but {want.model_id} ({want.dimensions} dims) is configured; rebuild it with "
            "scripts/reindex.py (drop + re-index from DynamoDB) or point it at another directory"
        )
