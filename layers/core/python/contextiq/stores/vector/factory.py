"""Build the configured vector index from ``Settings``.

Imports are lazy: the Lambda layer ships neither numpy nor the embedded index's dependencies.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from contextiq.stores.vector.base import IndexInfo, VectorIndex

if TYPE_CHECKING:
    from contextiq.ai.embedders.base import Embedder
    from contextiq.config import Settings

_embedded_lock = threading.Lock()
_embedded: dict[Path, VectorIndex] = {}


def embedded_index_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "index"


def build_vector_index(settings: Settings, info: IndexInfo | None = None) -> VectorIndex:
    """The index for ``settings.vector_index``; with ``info``, also ``ensure(info)`` it.

    The embedded index allows one owner per directory (it holds a file lock), so it is built once per
    process and path and shared: call this as often as you like.
    """
    if settings.vector_index == "embedded":
        from contextiq.stores.vector.embedded import EmbeddedVectorIndex

        path = embedded_index_path(settings).resolve()
        with _embedded_lock:
            index = _embedded.get(path)
            if index is None:
                index = _embedded[path] = EmbeddedVectorIndex(path)
    elif settings.vector_index == "opensearch":
        from contextiq.stores.vector.opensearch import OpenSearchVectorIndex

        refresh = settings.opensearch_refresh if settings.opensearch_refresh != "false" else False
        index = OpenSearchVectorIndex.from_settings(settings, refresh=refresh)
    else:
        raise ValueError(f"unknown vector index {settings.vector_index!r} (expected opensearch or embedded)")
    if info is not None:
        index.ensure(info)
    return index


def index_info_for(embedder: Embedder) -> IndexInfo:
    """The IndexInfo an index must carry to hold this embedder's vectors."""
    return IndexInfo(model_id=embedder.model_id, dimensions=embedder.dimensions)


def close_embedded_indexes() -> None:
    """Snapshot and close every embedded index built here (call on local-runtime shutdown)."""
    with _embedded_lock:
        for index in _embedded.values():
            close = getattr(index, "close", None)
            if close is not None:
                close()
        _embedded.clear()
