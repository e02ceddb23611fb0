"""The local runtime's vector index at start: keep it and reconcile it with the tables, or rebuild it.

The embedded index survives a stop (a snapshot on a clean stop) and a kill -9 (its write-ahead log is
fsync'd before a change is applied), so at start it is opened and reconciled with the record
(``services/index_reconcile.py``): what changed while it was not looking (the writes whose stream records
a kill -9 took away before the indexer saw them, deletes it missed) is applied, the rest is kept and
nothing is embedded again. It is rebuilt from the tables, re-embedding every event, only when it cannot
be used, and the start says so:

- it does not exist yet (first start, ``--reset``, or an index directory removed by hand);
- it was built with another embedding model or dimension than the one configured;
- it cannot be read (a corrupt snapshot or meta file): the index directory is removed first.

A torn or corrupt tail of the write-ahead log is cut by the index itself; the reconcile then supplies
what it held.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from contextiq.ai.embedders.base import Embedder
from contextiq.services.index_reconcile import Wanted, reconcile, wanted_events, wanted_memories
from contextiq.services.indexing import OptOut, Tables, never, reindex
from contextiq.stores.vector.embedded_files import IndexLockedError
from contextiq.stores.vector.factory import build_vector_index, embedded_index_path, index_info_for

Say = Callable[[str], None]


def local_tables(container: Any) -> Tables:
    """``container.index_tables()`` with memories and events read straight from moto's tables in this
    process. Through the API, moto's Scan walks the table from its first item on every page (to find the
    page's start key), sizes and deep-copies each item and applies the filter after the page: quadratic in
    the table, ~4 s a page with 7,000 events on a loaded machine. At start nothing else writes yet."""
    from contextiq.local import moto_fidelity
    from contextiq.local.journal import _backends
    from contextiq.stores.dynamo.base import from_item
    from contextiq.stores.dynamo.memories import MEMORY_SK, parse_memory_item

    settings = container.settings

    def items(table_name: str, keep: Callable[[str], bool]) -> Iterator[dict[str, Any]]:
        dynamodb, _ = _backends()
        with moto_fidelity.dynamodb_lock():
            found = list(moto_fidelity.original_all(dynamodb.tables[table_name]))
        for item in found:
            raw = item.to_json()["Attributes"]  # wire format, as a Scan answers it
            if keep(raw["sk"]["S"]):
                yield raw

    def memories() -> Iterator[Any]:
        return (parse_memory_item(raw) for raw in items(settings.memories_table, lambda sk: sk == MEMORY_SK))

    def events() -> Iterator[dict[str, Any]]:
        return (from_item(raw) for raw in items(settings.sessions_table, lambda sk: sk.startswith("E#")))

    return replace(container.index_tables(), memories=memories, events=events)


def _record(tables: Tables, embedder: Embedder, opted_out: OptOut) -> Iterator[Wanted]:
    yield from wanted_memories(tables.memories(), embedder.model_id)
    yield from wanted_events(tables.events(), opted_out)
    if tables.wanted_others is not None:
        yield from tables.wanted_others()


def _open(settings: Any, say: Say) -> Any:
    """The embedded index as it was left, or an empty one when it cannot be read (announced)."""
    try:
        return build_vector_index(settings)
    except IndexLockedError:
        raise
    except Exception as error:
        path: Path = embedded_index_path(settings)
        say(f"  the vector index at {path} cannot be read ({type(error).__name__}: {error}); rebuilding it")
        shutil.rmtree(path, ignore_errors=True)
        return build_vector_index(settings)


def prepare_index(
    settings: Any, embedder: Embedder, tables: Tables, opted_out: OptOut = never, say: Say = print
) -> dict[str, Any]:
    """Open the embedded index of ``settings`` and make it match ``tables``; returns what was done."""
    index = _open(settings, say)
    want = index_info_for(embedder)
    if index.info == want:
        return {**reconcile(index, embedder, _record(tables, embedder, opted_out), say), "mode": "reconciled"}
    if index.info is None:
        say("  no vector index yet: building it from the tables (every event is embedded)")
    else:
        say(
            f"  the vector index was built with {index.info.model_id} ({index.info.dimensions} dims), "
            f"{want.model_id} ({want.dimensions} dims) is configured: rebuilding it (every event is embedded)"
        )
    return {**reindex(index, embedder, tables, drop=True, opted_out=opted_out), "mode": "rebuilt"}


def summary(counts: dict[str, Any]) -> str:
    if counts["mode"] == "reconciled":
        return (
            f"kept and reconciled: {counts['checked']:,} documents checked, {counts['kept']:,} kept, "
            f"{counts['upserted']:,} written ({counts['embedded']:,} embedded), {counts['deleted']:,} deleted, "
            f"{counts['replaced']:,} replaced, {counts['orphans']:,} orphans removed"
        )
    return (
        f"rebuilt: {counts.get('upserted', 0):,} memories, {counts.get('tombstones', 0):,} deleted, "
        f"{counts.get('events', 0):,} events"
    )


__all__ = ["Wanted", "local_tables", "prepare_index", "summary"]
