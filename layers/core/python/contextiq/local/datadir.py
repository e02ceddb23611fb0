"""The local data directory: its layout, the one-server lock, private files, ``--reset``.

<data-dir>/
  lock              held (flock) by the running server; holds its pid
  local.json        0600, exists while a server runs: URL, API key, admin token, env for other processes
  credentials.json  0600, the API key generated on first start (reused by later starts)
  tables/           the system of record: snapshot.jsonl + journal.jsonl (see local/journal.py)
  index/            the embedded vector index (derived: kept, and reconciled with tables/ at every start)
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any

PRIVATE = 0o600


class DataDirInUseError(RuntimeError):
    """Another `contextiq local` holds this data directory."""


class DataDirLock:
    """An exclusive, non-blocking flock on ``<data-dir>/lock``; the kernel drops it when the process dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DataDirInUseError(
                f"another `contextiq local` (pid {holder}) is using {self.path.parent.resolve()}; "
                "stop it first, or pass a different --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def reset(data_dir: Path) -> None:
    """Remove everything the server stored under ``data_dir`` (the caller holds the lock, which stays)."""
    if not data_dir.exists():
        return
    for entry in data_dir.iterdir():
        if entry.name == "lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON readable by this user only (created 0600, never world-readable even for a moment)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.chmod(tmp, PRIVATE)
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
