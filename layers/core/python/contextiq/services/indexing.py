"""Keep the vector index in step with the tables (parsed stream changes) and rebuild it.

Memories arrive with their vector (stored in the record); events are embedded here, once per INSERT.
Versions make every step idempotent: a memory carries its own version; an event is indexed at version 1
and removed (session delete or TTL, a stream REMOVE) at version 2, so a replayed INSERT after its REMOVE
cannot resurrect it. Events of an app listed in ``Settings.event_index_opt_out`` (the operator's list) and
events of a session created with ``index_events: false`` (the tenant's choice, carried on every event item
as ``noindex``) are never indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contextiq.ai.embedders.base import Embedder
from contextiq.ids import epoch_ms
from contextiq.models.sessions import Event
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.dynamo.sessions import event_from_item
from contextiq.stores.dynamo.streams import EventChange, MemoryChange
from contextiq.stores.vector.base import IndexedMemory, VectorIndex
from contextiq.stores.vector.documents import (
    EVENT_VERSION,
    apply_memory,
    event_doc_id,
    event_document,
    event_text,
    memory_document,
)
from contextiq.stores.vector.factory import index_info_for

if TYPE_CHECKING:
    from contextiq.services.index_reconcile import Wanted

# A blue/green rebuild re-applies memories updated since it started, minus this (clock skew between writers).
CATCH_UP_MARGIN = timedelta(seconds=60)

OptOut = Callable[[str, str | None], bool]  # (tenant, app_name) -> events of that app are not indexed


def never(_tenant: str, _app: str | None) -> bool:
    return False


def apply_change(
    index: VectorIndex, embedder: Embedder | None, change: MemoryChange | EventChange | None, opted_out: OptOut = never
) -> str:
    """Apply one parsed stream change. Returns what was done (for logs and tests).

    ``embedder`` is only needed for event INSERTs (memories carry their vector), so a caller may pass
    None for the rest and never load a model for them."""
    if change is None:
        return "skipped"
    if isinstance(change, MemoryChange):
        stored = change.stored
        if change.removed:
            index.delete(stored.tenant, stored.memory.id, stored.memory.version + 1)
            return "removed"
        apply_memory(index, stored)
        return "deleted" if stored.deleted else "upserted"
    doc_id = event_doc_id(change.event.session_id, change.event.seq)
    if change.removed:
        index.delete(change.tenant, doc_id, EVENT_VERSION + 1)
        return "removed"
    text = event_text(change.event)
    if not text or not change.indexed or opted_out(change.tenant, change.app_name):
        return "skipped"
    if embedder is None:
        raise ValueError("indexing an event needs an embedder")
    vector = embedder.embed([text])[0]
    index.upsert([event_index_document(change, text, vector)])
    return "upserted"


def event_index_document(change: EventChange, text: str, vector: Sequence[float]) -> IndexedMemory:
    e = change.event
    return event_document(
        change.tenant, change.user_id, change.app_name, e.session_id, e.seq, e.author, text,
        epoch_ms(e.timestamp), vector, change.expire_at, e.metadata,
    )  # fmt: skip


def rebuild(index: VectorIndex, memories: Iterable[StoredMemory], batch_size: int = 200) -> dict[str, int]:
    """Index every stored memory (live ones upserted, tombstones recorded). Returns counts."""
    counts = {"upserted": 0, "tombstones": 0}
    batch: list[StoredMemory] = []

    def flush() -> None:
        if batch:
            index.upsert([memory_document(s) for s in batch])
            counts["upserted"] += len(batch)
            batch.clear()

    for stored in memories:
        if stored.deleted or stored.vector is None:
            index.delete(stored.tenant, stored.memory.id, stored.memory.version)
            counts["tombstones"] += 1
            continue
        batch.append(stored)
        if len(batch) >= batch_size:
            flush()
    flush()
    return counts


@dataclass(frozen=True)
class Tables:
    """What a rebuild reads: every memory item and every event item (plain values) of every tenant."""

    memories: Callable[[], Iterator[StoredMemory]]
    events: Callable[[], Iterator[dict[str, Any]]]
    others: Callable[[VectorIndex, bool], dict[str, int]] | None = None  # (index, reembed) -> counts
    wanted_others: Callable[[], Iterator[Wanted]] | None = None  # the others, for index_reconcile


def rebuild_events(
    index: VectorIndex, embedder: Embedder, items: Iterable[dict[str, Any]], opted_out: OptOut = never,
    batch_size: int = 64,
) -> int:  # fmt: skip
    """Embed and index every event item (the text is embedded again: events store no vector)."""
    done = 0
    batch: list[tuple[EventChange, str]] = []

    def flush() -> None:
        nonlocal done
        if batch:
            vectors = embedder.embed([text for _, text in batch])
            index.upsert([event_index_document(c, t, v) for (c, t), v in zip(batch, vectors, strict=True)])
            done += len(batch)
            batch.clear()

    for item in items:
        if "user_id" not in item or "tenant" not in item or item.get("noindex"):
            continue  # written before events carried their owner, or its session opted out
        event: Event = event_from_item(item["session_id"], item)
        change = EventChange(item["tenant"], item["user_id"], item.get("app_name"), event, item.get("expire_at"), False)
        text = event_text(event)
        if text and not opted_out(change.tenant, change.app_name):
            batch.append((change, text))
        if len(batch) >= batch_size:
            flush()
    flush()
    return done


def reindex(
    index: VectorIndex, embedder: Embedder, tables: Tables, drop: bool = True, reembed: bool = False,
    opted_out: OptOut = never,
) -> dict[str, int]:  # fmt: skip
    """Rebuild the vector index from the tables (see scripts/reindex.py): memories, events and the
    ``others`` (procedures, trajectories).

    Stored memory vectors are reused when the configured embedding model made them; others (or all,
    with ``reembed``) are embedded again; events are always embedded. An index that supports it
    (OpenSearch) is rebuilt blue/green: a new concrete index is filled behind the alias's back, the alias
    swaps to it atomically, the old one is deleted, so search answers throughout; memories changed while
    it was filled are applied once more after the swap. Others (the local embedded index) are dropped and
    refilled.
    """
    counts = {"reembedded": 0}

    def memories(since: datetime | None = None) -> Iterator[StoredMemory]:
        for stored in tables.memories():
            if since is not None and stored.memory.update_time < since:
                continue
            stale = stored.vector is None or stored.embedding_model != embedder.model_id
            if not stored.deleted and (reembed or stale):
                counts["reembedded"] += 1
                stored = replace(
                    stored, vector=embedder.embed([stored.memory.fact])[0], embedding_model=embedder.model_id
                )
            yield stored

    def fill(target: VectorIndex) -> None:
        counts.update(rebuild(target, memories()))
        counts["events"] = rebuild_events(target, embedder, tables.events(), opted_out)
        if tables.others is not None:
            counts.update(tables.others(target, reembed))  # procedures and trajectories share the index

    create_generation = getattr(index, "create_generation", None)
    if drop and create_generation is not None:
        # Writers keep landing in the live index meanwhile; CATCH_UP_MARGIN covers clock skew between them.
        started = datetime.now(UTC) - CATCH_UP_MARGIN
        generation = create_generation(index_info_for(embedder))
        fill(generation)
        counts["dropped_indexes"] = len(index.swap_to(generation))  # type: ignore[attr-defined]
        caught_up = rebuild(index, memories(since=started))
        counts["caught_up"] = caught_up["upserted"] + caught_up["tombstones"]
        return counts
    if drop:
        index.drop()
        index.ensure(index_info_for(embedder))
    fill(index)
    return counts
