"""Files of the embedded index: snapshots, atomic writes with fsync, and the single-owner process lock.

A snapshot (``snapshot.npz``) holds every live row and tombstone as of one generation: one float32 matrix
per partition plus a JSON header (ids, texts, topics, versions, expiry, event times, attributes). It is
written to a temp file, fsync'd and renamed over the old one, then the directory is fsync'd.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from contextiq.stores.vector.base import DocKind, IndexInfo, IndexMismatchError
from contextiq.stores.vector.embedded_partition import NO_EXPIRY, NO_TIME, Doc, Partition

try:  # POSIX only; on other systems the single-process rule is not enforced
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 2  # 2: kinds, event times, attributes (version 1 snapshots still load)
PartKey = tuple[str, str, str]  # (tenant, kind, scope_key)
DocKey = tuple[str, str]  # (tenant, doc id)
DocState = tuple[int, PartKey | None]  # version, partition (None = tombstone)


class IndexLockedError(RuntimeError):
    """Another process has this embedded index open."""


def fsync_dir(path: Path, enabled: bool = True) -> None:
    if not enabled or os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, fsync: bool = True) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent, fsync)


def write_snapshot(
    path: Path, gen: int, info: IndexInfo, parts: Mapping[PartKey, Partition], docs: Mapping[DocKey, DocState],
    fsync: bool = True,
) -> None:  # fmt: skip
    arrays: dict[str, np.ndarray] = {}
    partitions = []
    for i, ((tenant, kind, scope), part) in enumerate(sorted(parts.items())):
        rows = part.live_rows()
        arrays[f"v{i}"] = part.vectors[rows]
        rl = rows.tolist()
        partitions.append(
            {
                "tenant": tenant,
                "kind": kind,
                "scope_key": scope,
                "ids": [part.ids[r] for r in rl],
                "facts": [part.texts[r] for r in rl],
                "topics": [list(part.topics[r]) for r in rl],
                "versions": part.version[rows].tolist(),
                "expire_at": [None if e == NO_EXPIRY else e for e in part.expire[rows].tolist()],
                "event_time": [None if e == NO_TIME else e for e in part.etime[rows].tolist()],
                "attrs": [{k: list(v) for k, v in part.attrs[r].items()} for r in rl],
            }
        )
    meta = {
        "format": FORMAT_VERSION,
        "gen": gen,
        "info": {"model_id": info.model_id, "dimensions": info.dimensions},
        "partitions": partitions,
        "tombstones": [[t, m, v] for (t, m), (v, p) in docs.items() if p is None],
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent, fsync)


def load_snapshot(path: Path, info: IndexInfo, parts: dict[PartKey, Partition], docs: dict[DocKey, DocState]) -> int:
    """Fill ``parts`` and ``docs`` from a snapshot; returns its generation."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes())
        have = IndexInfo(meta["info"]["model_id"], int(meta["info"]["dimensions"]))
        if have != info:
            raise IndexMismatchError(f"snapshot {path} was written for {have}, but meta.json says {info}")
        for i, p in enumerate(meta["partitions"]):
            vectors = npz[f"v{i}"]
            n = len(p["ids"])
            times = p.get("event_time") or [None] * n  # format 1 had no event times, kinds or attributes
            attrs = p.get("attrs") or [{}] * n
            kind: DocKind = p.get("kind", "memory")
            rows = zip(p["ids"], p["facts"], p["topics"], p["versions"], p["expire_at"], times, attrs, strict=True)
            loaded = [
                Doc(mid, fact, tuple(tp), int(v), x, vectors[j], et, {k: tuple(vs) for k, vs in a.items()})
                for j, (mid, fact, tp, v, x, et, a) in enumerate(rows)
            ]
            part = Partition(info.dimensions)
            part.append(loaded, vectors=vectors)
            pkey: PartKey = (p["tenant"], kind, p["scope_key"])
            parts[pkey] = part
            for d in loaded:
                docs[(p["tenant"], d.doc_id)] = (d.version, pkey)
        for tenant, memory_id, version in meta["tombstones"]:
            docs[(tenant, memory_id)] = (int(version), None)
    return int(meta["gen"])


class FileLock:
    """An exclusive, non-blocking flock on ``path`` for the lifetime of the owner."""

    def __init__(self, path: Path, owner: Path) -> None:
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise IndexLockedError(
                f"the embedded index at {owner} is open in another process (or another "
                "EmbeddedVectorIndex in this one); it supports a single owner: close the other first"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def meta_doc(info: IndexInfo) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "model_id": info.model_id, "dimensions": info.dimensions}
