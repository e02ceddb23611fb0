"""The embedded vector index: exact cosine + BM25 in numpy, persisted under a directory.

Layout of ``path`` (``.contextiq/index/`` in the local runtime)::

    meta.json          IndexInfo (model_id, dimensions), written once by ensure() (temp + os.replace)
    snapshot.npz       every live row and tombstone as of generation ``gen`` (``embedded_files.py``)
    wal-<gen>.log      write-ahead log of the upserts/deletes applied since that snapshot (``embedded_log.py``)
    index.lock         an exclusive flock: one process owns the index at a time

Every accepted change is appended to the write-ahead log (framed and CRC-checked, fsync'd by
default) before it is applied in memory. On open, the snapshot is loaded and the log replayed up to
its first torn or corrupt record, so a crash at any point loses at most the change being written.
When the log outgrows ``max(snapshot_min_bytes, size of the last snapshot / 2)`` a new snapshot is
written (temp file, fsync, ``os.replace``) and the log restarts: the cost of snapshots stays
amortised while the log stays bounded.

In memory, documents are partitioned by (tenant, kind, scope_key): a search touches only its partition
(``embedded_partition.py``), so a memory search can never see an event and the reverse.

Versions: a (tenant, document id) keeps the highest version seen, live or tombstoned; an upsert or
delete at an equal or lower version is ignored (so replays and out-of-order deliveries are harmless).
Tombstones are kept until the index is dropped.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from contextiq.stores.vector.base import (
    IndexedMemory,
    IndexInfo,
    IndexMismatchError,
    SearchHit,
    SearchQuery,
)
from contextiq.stores.vector.embedded_files import (
    DocKey,
    DocState,
    FileLock,
    IndexLockedError,
    PartKey,
    load_snapshot,
    meta_doc,
    write_atomic,
    write_snapshot,
)
from contextiq.stores.vector.embedded_log import (
    WalWriter,
    decode_upsert,
    encode_delete,
    encode_forget,
    encode_upsert,
    read_records,
)
from contextiq.stores.vector.embedded_partition import Doc, Partition
from contextiq.stores.vector.fusion import (
    DEFAULT_KEYWORD_WEIGHT,
    HybridFusion,
    finalize,
    fuse,
    hybrid_pool,
    keyword_terms,
)
from contextiq.stores.vector.text import tokenize

__all__ = ["EmbeddedVectorIndex", "IndexLockedError"]

_META = "meta.json"
_SNAPSHOT = "snapshot.npz"
_LOCK = "index.lock"


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
        self._lock: FileLock | None = None
        self._closed = False
        self._info: IndexInfo | None = None
        self._parts: dict[PartKey, Partition] = {}
        self._docs: dict[DocKey, DocState] = {}
        self._gen = 0
        self._wal: WalWriter | None = None
        self._snapshot_bytes = 0
        if lock:
            self._lock = FileLock(self._path / _LOCK, self._path)
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

    @property
    def _wal_bytes(self) -> int:
        return self._wal.size if self._wal is not None else 0

    # -- VectorIndex -------------------------------------------------------------------------------

    def ensure(self, info: IndexInfo) -> None:
        with self._mutex:
            self._check_open()
            if self._info is not None:
                if self._info != info:
                    raise IndexMismatchError(self._mismatch_message(self._info, info))
                return
            self._clear_data_files()
            write_atomic(self._path / _META, json.dumps(meta_doc(info), indent=2).encode(), self._fsync)
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
                        f"document {d.memory_id} has a {len(d.vector)}-dimensional vector; the index at "
                        f"{self._path} holds {info.dimensions}-dimensional vectors of {info.model_id}"
                    )
            accepted = self._accept(docs)
            if not accepted:
                return
            self._log([encode_upsert(d) for d in accepted])
            touched = self._apply_upserts(accepted)
            self._maintain(touched)

    def delete(self, tenant: str, memory_id: str, version: int) -> None:
        with self._mutex:
            self._require_info()
            stored = self._docs.get((tenant, memory_id))
            if stored is not None and stored[0] >= version:
                return
            self._log([encode_delete(tenant, memory_id, version)])
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
            part = self._parts.get((query.tenant, query.kind, query.scope_key))
            if part is None or part.live == 0:
                return []
            now = query.now if query.now > 0 else int(time.time())
            mask = part.mask(now, query.topics, query.after, query.before, query.filters)
            if vec is None:
                hits = part.keyword(tokenize(query.text), mask, query.top_k)
            elif mode == "semantic":
                hits = part.semantic(vec, mask, query.top_k)
            else:
                pool = hybrid_pool(query.top_k)
                fusion = query.fusion or HybridFusion(self._keyword_weight)
                hits = fuse(
                    part.semantic(vec, mask, pool),
                    part.keyword(keyword_terms(query.text, fusion.drop_function_words), mask, pool, coverage=True),
                    fusion,
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

    def documents(self) -> dict[DocKey, tuple[int, bool]]:
        """Every (tenant, document id) the index knows: its version and whether it is live (False: a
        tombstone). For reconciling the index with the record at start (``services/index_reconcile.py``)."""
        with self._mutex:
            self._check_open()
            return {key: (version, pkey is not None) for key, (version, pkey) in self._docs.items()}

    def text_of(self, tenant: str, doc_id: str) -> str | None:
        """The indexed text of a live document (None if it is not live here)."""
        with self._mutex:
            stored = self._docs.get((tenant, doc_id))
            part = self._parts.get(stored[1]) if stored is not None and stored[1] is not None else None
            row = part.row_of.get(doc_id) if part is not None else None
            return part.texts[row] if part is not None and row is not None else None

    def forget(self, keys: Sequence[DocKey]) -> None:
        """Remove documents, live or tombstoned, whatever their version: for a document the index holds at a
        newer version than the record does (an index that is ahead of restored tables). Logged like a delete."""
        with self._mutex:
            self._require_info()
            known = [key for key in keys if key in self._docs]
            if not known:
                return
            self._log([encode_forget(tenant, doc_id) for tenant, doc_id in known])
            touched: set[PartKey] = set()
            for tenant, doc_id in known:
                touched |= self._apply_forget(tenant, doc_id)
            self._maintain(touched)

    def stats(self) -> dict[str, Any]:
        with self._mutex:
            return {
                "partitions": len(self._parts),
                "live": sum(p.live for p in self._parts.values()),
                "rows": sum(p.n for p in self._parts.values()),
                "tombstones": sum(1 for _, p in self._docs.values() if p is None),
                "generation": self._gen,
                "wal_bytes": self._wal_bytes,
                "snapshot_bytes": self._snapshot_bytes,
            }

    # -- applying changes ----------------------------------------------------------------------------

    def _accept(self, docs: Sequence[IndexedMemory]) -> list[IndexedMemory]:
        """Drop upserts not newer than what is stored; within the batch keep the highest version."""
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
        by_part: dict[PartKey, list[Doc]] = {}
        for d in docs:
            key = (d.tenant, d.memory_id)
            stored = self._docs.get(key)
            if stored is not None and stored[1] is not None:
                old = self._parts.get(stored[1])
                if old is not None:
                    old.kill(d.memory_id)
                    by_part.setdefault(stored[1], [])
            pkey: PartKey = (d.tenant, d.kind, d.scope_key)
            self._docs[key] = (d.version, pkey)
            by_part.setdefault(pkey, []).append(
                Doc(
                    d.memory_id,
                    d.fact,
                    tuple(d.topics),
                    d.version,
                    d.expire_at,
                    np.asarray(d.vector, dtype=np.float32),
                    d.event_time,
                    d.attrs,
                )
            )
        for pkey, rows in by_part.items():
            if rows:
                part = self._parts.get(pkey)
                if part is None:
                    part = self._parts[pkey] = Partition(self._info.dimensions)
                part.append(rows)
        return set(by_part)

    def _apply_delete(self, tenant: str, memory_id: str, version: int) -> set[PartKey]:
        stored = self._docs.get((tenant, memory_id))
        touched: set[PartKey] = set()
        if stored is not None and stored[1] is not None:
            part = self._parts.get(stored[1])
            if part is not None and part.kill(memory_id):
                touched.add(stored[1])
        self._docs[(tenant, memory_id)] = (version, None)
        return touched

    def _apply_forget(self, tenant: str, doc_id: str) -> set[PartKey]:
        touched = self._apply_delete(tenant, doc_id, 0)
        del self._docs[(tenant, doc_id)]
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

    # -- log and snapshots ---------------------------------------------------------------------------

    def _wal_path(self, gen: int) -> Path:
        return self._path / f"wal-{gen:08d}.log"

    def _open_wal(self) -> None:
        self._close_wal()
        self._wal = WalWriter(self._wal_path(self._gen), self._fsync)

    def _close_wal(self) -> None:
        if self._wal is not None:
            self._wal.close()
            self._wal = None

    def _log(self, records: Sequence[bytes]) -> None:
        if self._wal is None:
            self._open_wal()
        assert self._wal is not None
        self._wal.append(records)

    def _replay(self, path: Path) -> None:
        pending: list[IndexedMemory] = []

        def flush() -> None:
            if pending:
                self._apply_upserts(self._accept(pending))
                pending.clear()

        for meta, vec in read_records(path):
            if meta["op"] == "u":
                pending.append(decode_upsert(meta, vec))
            elif meta["op"] == "d":
                flush()
                stored = self._docs.get((meta["t"], meta["m"]))
                if stored is None or stored[0] < int(meta["v"]):
                    self._apply_delete(meta["t"], meta["m"], int(meta["v"]))
            elif meta["op"] == "f":
                flush()
                if (meta["t"], meta["m"]) in self._docs:
                    self._apply_forget(meta["t"], meta["m"])
        flush()

    def _write_snapshot(self) -> None:
        assert self._info is not None
        new_gen = self._gen + 1
        write_snapshot(self._path / _SNAPSHOT, new_gen, self._info, self._parts, self._docs, self._fsync)
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

    def _load(self) -> None:
        meta_path = self._path / _META
        if not meta_path.exists():
            self._clear_data_files()  # leftovers of an interrupted drop()
            return
        meta = json.loads(meta_path.read_text())
        self._info = IndexInfo(meta["model_id"], int(meta["dimensions"]))
        snap = self._path / _SNAPSHOT
        if snap.exists():
            self._gen = load_snapshot(snap, self._info, self._parts, self._docs)
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

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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

    def _mismatch_message(self, have: IndexInfo, want: IndexInfo) -> str:
        return (
            f"the embedded index at {self._path} was built with {have.model_id} ({have.dimensions} dims) "
            f"but {want.model_id} ({want.dimensions} dims) is configured; rebuild it with "
            "scripts/reindex.py (drop + re-index from DynamoDB) or point it at another directory"
        )
