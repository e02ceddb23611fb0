"""Bring a kept vector index in line with the tables (the record) instead of rebuilding it.

A rebuild (``services.indexing.reindex``) re-embeds every event: events store no vector. The local runtime
keeps its embedded index across restarts (write-ahead log + snapshots) and reconciles it at start: every
document the record says the index must hold is compared by id and version (events are immutable, so an
event is compared by id and text), and only what differs is written:

- missing, or older in the index than in the record: upserted (memories, procedures and trajectories with
  their stored vector when the configured model made it; events embedded, in batches);
- live in the index but tombstoned in the record: deleted at the record's version;
- newer in the index than in the record, or an event whose text differs (tables restored from an older
  copy): forgotten, then written as the record has it;
- live in the index and absent from the record (an orphan: a session deleted, a memory expired, an app
  opted out while the index did not follow): tombstoned one version past the index's.

The outcome is the index a full rebuild would produce, at the cost of reading the record and comparing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from contextiq.ai.embedders.base import Embedder
from contextiq.models.sessions import Event
from contextiq.services.indexing import event_index_document
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.dynamo.sessions import event_from_item
from contextiq.stores.dynamo.streams import EventChange
from contextiq.stores.vector.base import IndexedMemory, VectorIndex
from contextiq.stores.vector.documents import EVENT_VERSION, event_doc_id, event_text, memory_document

Progress = Callable[[str], None]
DocKey = tuple[str, str]


class ReconcilableIndex(VectorIndex, Protocol):
    def documents(self) -> dict[DocKey, tuple[int, bool]]: ...

    def text_of(self, tenant: str, doc_id: str) -> str | None: ...

    def forget(self, keys: Sequence[DocKey]) -> None: ...


@dataclass(frozen=True)
class Wanted:
    """One document as the record says the index must hold it.

    ``live`` False: a tombstone at ``version``. A live one is built by ``build(vector)`` with ``vector`` (a
    stored vector the configured model made) or, when that is None, with the embedding of ``text``.
    ``same_text``: compare ``text`` with the indexed text too (events: immutable, always version 1)."""

    tenant: str
    doc_id: str
    version: int
    live: bool
    build: Callable[[Sequence[float]], IndexedMemory] | None = None
    vector: Sequence[float] | None = None
    text: str = ""
    same_text: bool = False


def wanted_memories(memories: Iterable[StoredMemory], model_id: str) -> Iterator[Wanted]:
    for stored in memories:
        m = stored.memory
        if stored.deleted or stored.vector is None:
            yield Wanted(stored.tenant, m.id, m.version, False)
            continue
        reuse = stored.vector if stored.embedding_model == model_id else None
        yield Wanted(
            stored.tenant, m.id, m.version, True, _memory_builder(stored), reuse, m.fact
        )  # fmt: skip


def _memory_builder(stored: StoredMemory) -> Callable[[Sequence[float]], IndexedMemory]:
    return lambda vector: memory_document(replace(stored, vector=list(vector)))


def wanted_events(
    items: Iterable[dict[str, Any]], opted_out: Callable[[str, str | None], bool]
) -> Iterator[Wanted]:  # fmt: skip
    """Every event item that is indexed (the same rule as ``indexing.rebuild_events``)."""
    for item in items:
        if "user_id" not in item or "tenant" not in item or item.get("noindex"):
            continue
        event: Event = event_from_item(item["session_id"], item)
        change = EventChange(item["tenant"], item["user_id"], item.get("app_name"), event, item.get("expire_at"), False)
        text = event_text(event)
        if not text or opted_out(change.tenant, change.app_name):
            continue
        yield Wanted(
            change.tenant, event_doc_id(event.session_id, event.seq), EVENT_VERSION, True,
            _event_builder(change, text, event_index_document), None, text, same_text=True,
        )  # fmt: skip


def _event_builder(
    change: EventChange, text: str, make: Callable[[EventChange, str, Sequence[float]], IndexedMemory]
) -> Callable[[Sequence[float]], IndexedMemory]:  # fmt: skip
    return lambda vector: make(change, text, vector)


def reconcile(
    index: ReconcilableIndex,
    embedder: Embedder,
    wanted: Iterable[Wanted],
    progress: Progress | None = None,
    batch_size: int = 64,
) -> dict[str, int]:
    """Make ``index`` hold exactly ``wanted``; returns counts of what was checked and changed."""
    have = index.documents()
    counts = {"checked": 0, "kept": 0, "upserted": 0, "embedded": 0, "deleted": 0, "replaced": 0, "orphans": 0}
    seen: set[DocKey] = set()
    to_embed: list[Wanted] = []
    ready: list[IndexedMemory] = []

    def flush_embed() -> None:
        if to_embed:
            vectors = embedder.embed([w.text for w in to_embed])
            ready.extend(w.build(v) for w, v in zip(to_embed, vectors, strict=True) if w.build is not None)
            counts["embedded"] += len(to_embed)
            to_embed.clear()

    def flush_ready() -> None:
        if ready:
            index.upsert(ready)
            counts["upserted"] += len(ready)
            ready.clear()

    for w in wanted:
        key = (w.tenant, w.doc_id)
        seen.add(key)
        counts["checked"] += 1
        if progress is not None and counts["checked"] % 50_000 == 0:
            progress(f"  index: {counts['checked']:,} documents of the record checked")
        stored = have.get(key)
        if not w.live:
            if stored is not None and stored[1]:
                index.forget([key])
                counts["replaced"] += 1
                stored = None
            if stored is None or stored[0] < w.version:
                index.delete(w.tenant, w.doc_id, w.version)
                counts["deleted"] += 1
            else:
                counts["kept"] += 1
            continue
        same = stored is not None and stored[1] and stored[0] == w.version
        if same and (not w.same_text or index.text_of(w.tenant, w.doc_id) == w.text):
            counts["kept"] += 1
            continue
        if stored is not None and (stored[0] >= w.version):
            index.forget([key])  # ahead of the record, or the same id with other content
            counts["replaced"] += 1
        if w.vector is not None and w.build is not None:
            ready.append(w.build(w.vector))
        else:
            to_embed.append(w)
            if len(to_embed) >= batch_size:
                flush_embed()
        if len(ready) >= 200:
            flush_ready()
    flush_embed()
    flush_ready()
    for key, (version, live) in have.items():
        if live and key not in seen:
            index.delete(key[0], key[1], version + 1)
            counts["orphans"] += 1
    return counts
