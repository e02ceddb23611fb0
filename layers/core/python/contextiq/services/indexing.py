"""Keep the vector index in step with the memories table (DynamoDB stream records) and rebuild it."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contextiq.stores.dynamo.memories import MEMORY_SK, StoredMemory, parse_memory_item
from contextiq.stores.vector.base import VectorIndex
from contextiq.stores.vector.documents import apply_memory

# A blue/green rebuild re-applies memories updated since it started, minus this (clock skew between writers).
CATCH_UP_MARGIN = timedelta(seconds=60)


def apply_stream_record(index: VectorIndex, record: dict[str, Any]) -> str:
    """Apply one DynamoDB stream record (``dynamodb`` part in wire format). Returns what was done.

    INSERT/MODIFY carry the new image: upsert it, or tombstone it when it is a deleted memory.
    REMOVE (TTL expiry of a memory or of a tombstone) tombstones one version past the old image.
    Revisions (sk R#...) are not indexed. Versions make replays and out-of-order records harmless.
    """
    data = record.get("dynamodb") or {}
    event = record.get("eventName")
    image = data.get("OldImage") if event == "REMOVE" else data.get("NewImage")
    if not image or image.get("sk", {}).get("S") != MEMORY_SK:
        return "skipped"
    stored = parse_memory_item(_binary_as_bytes(image))
    if event == "REMOVE":
        index.delete(stored.tenant, stored.memory.id, stored.memory.version + 1)
        return "removed"
    apply_memory(index, stored)
    return "deleted" if stored.deleted else "upserted"


def _binary_as_bytes(image: dict[str, Any]) -> dict[str, Any]:
    """Lambda delivers stream images as JSON, binary attributes base64-encoded; boto3 wants bytes."""
    return {
        k: {"B": base64.b64decode(v["B"])} if isinstance(v, dict) and isinstance(v.get("B"), str) else v
        for k, v in image.items()
    }


def rebuild(index: VectorIndex, memories: Iterable[StoredMemory], batch_size: int = 200) -> dict[str, int]:
    """Index every stored memory (live ones upserted, tombstones recorded). Returns counts."""
    counts = {"upserted": 0, "tombstones": 0}
    batch: list[StoredMemory] = []

    def flush() -> None:
        from contextiq.stores.vector.documents import memory_document

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


def reindex(container: Any, drop: bool = True, reembed: bool = False) -> dict[str, int]:
    """Rebuild ``container``'s vector index from its memories table (see scripts/reindex.py).

    Stored vectors are reused when the configured embedding model made them; others (or all, with
    ``reembed``) are embedded again. An index that supports it (OpenSearch) is rebuilt blue/green: a new
    concrete index is filled behind the alias's back, the alias swaps to it atomically, the old one is
    deleted, so search answers throughout; memories changed while it was filled are applied once more
    after the swap. Others (the local embedded index) are dropped and refilled.
    """
    from dataclasses import replace

    from contextiq.stores.vector.factory import index_info_for

    embedder = container.embedder
    index = container.vector_index
    counts = {"reembedded": 0}

    def memories(since: datetime | None = None) -> Iterator[StoredMemory]:
        for stored in container.memory_store.scan_all():
            if since is not None and stored.memory.update_time < since:
                continue
            stale = stored.vector is None or stored.embedding_model != embedder.model_id
            if not stored.deleted and (reembed or stale):
                counts["reembedded"] += 1
                stored = replace(
                    stored, vector=embedder.embed([stored.memory.fact])[0], embedding_model=embedder.model_id
                )
            yield stored

    if drop and hasattr(index, "create_generation"):
        # Writers keep landing in the live index meanwhile; CATCH_UP_MARGIN covers clock skew between them.
        started = datetime.now(UTC) - CATCH_UP_MARGIN
        generation = index.create_generation(index_info_for(embedder))
        counts.update(rebuild(generation, memories()))
        counts["dropped_indexes"] = len(index.swap_to(generation))
        caught_up = rebuild(index, memories(since=started))
        counts["caught_up"] = caught_up["upserted"] + caught_up["tombstones"]
        return counts
    if drop:
        index.drop()
        index.ensure(index_info_for(embedder))
    counts.update(rebuild(index, memories()))
    from contextiq.services.procedure_indexing import rebuild_procedures

    counts.update(rebuild_procedures(index, container, reembed=reembed))  # the same index holds them
    return counts
