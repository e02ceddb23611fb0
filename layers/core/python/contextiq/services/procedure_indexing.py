"""Keep the vector index in step with the procedures table (stream records), and rebuild its part."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from contextiq.services.index_reconcile import Wanted
from contextiq.services.procedure_projection import apply_procedure_to_index, embedding_text, indexed_procedure
from contextiq.services.trajectories import indexed_trajectory
from contextiq.stores.dynamo.procedures import PROCEDURE_SK, StoredProcedure, parse_procedure_item
from contextiq.stores.dynamo.streams import binary_as_bytes as _binary_as_bytes
from contextiq.stores.dynamo.trajectories import (
    TRAJECTORY_SK,
    TRAJECTORY_VERSION,
    StoredTrajectory,
    parse_trajectory_item,
)
from contextiq.stores.vector.base import IndexedMemory, VectorIndex


def apply_procedure_stream_record(index: VectorIndex, record: dict[str, Any]) -> str:
    """One DynamoDB stream record of the procedures table (``dynamodb`` part in wire format).

    Procedures: INSERT/MODIFY upsert the new image (or tombstone a deleted one); REMOVE (TTL) tombstones
    one version past the old image. Trajectories: INSERT upserts, REMOVE (delete or TTL) tombstones.
    Revisions are not indexed. Versions make replays and out-of-order records harmless.
    """
    data = record.get("dynamodb") or {}
    event = record.get("eventName")
    image = data.get("OldImage") if event == "REMOVE" else data.get("NewImage")
    sk = (image or {}).get("sk", {}).get("S")
    if sk == PROCEDURE_SK:
        stored = parse_procedure_item(_binary_as_bytes(image or {}))
        if event == "REMOVE":
            index.delete(stored.tenant, stored.procedure.id, stored.procedure.version + 1)
            return "removed"
        apply_procedure_to_index(index, stored)
        return "deleted" if stored.deleted else "upserted"
    if sk == TRAJECTORY_SK:
        trajectory = parse_trajectory_item(_binary_as_bytes(image or {}))
        if event == "REMOVE":
            index.delete(trajectory.tenant, trajectory.trajectory.id, TRAJECTORY_VERSION + 1)
            return "removed"
        if trajectory.vector is not None:
            index.upsert([indexed_trajectory(trajectory)])
            return "upserted"
    return "skipped"


def rebuild_procedures(index: VectorIndex, container: Any, reembed: bool = False) -> dict[str, int]:
    """Index every procedure and trajectory of ``container``'s procedures table (scripts/reindex.py).

    Stored vectors are reused when the configured embedding model made them; others (or all, with
    ``reembed``) are embedded again for the index, as memories are.
    """
    from contextiq.stores.dynamo.procedures import ProcedureStore
    from contextiq.stores.dynamo.trajectories import TrajectoryStore

    embedder = container.embedder
    counts = {"procedures": 0, "trajectories": 0, "procedures_reembedded": 0}
    table = container.settings.procedures_table
    for stored in ProcedureStore(container.dynamodb, table, container.page_tokens).scan_all():
        if stored.deleted or stored.vector is None:
            index.delete(stored.tenant, stored.procedure.id, stored.procedure.version)
            continue
        if reembed or stored.embedding_model != embedder.model_id:
            stored = replace(stored, vector=embedder.embed([embedding_text(stored.procedure)])[0])
            counts["procedures_reembedded"] += 1
        index.upsert([indexed_procedure(stored)])
        counts["procedures"] += 1
    for t in TrajectoryStore(container.dynamodb, table, container.page_tokens).scan_all():
        if t.vector is None:
            continue
        if reembed or t.embedding_model != embedder.model_id:
            t = replace(t, vector=embedder.embed([t.trajectory.task])[0])
        index.upsert([indexed_trajectory(t)])
        counts["trajectories"] += 1
    return counts


def wanted_procedures(container: Any) -> Iterator[Wanted]:
    """What the index must hold for the procedures table (``index_reconcile``; the rules of
    ``rebuild_procedures``): live procedures and trajectories with a vector, tombstones of deleted ones."""
    from contextiq.stores.dynamo.procedures import ProcedureStore
    from contextiq.stores.dynamo.trajectories import TrajectoryStore

    model_id = container.embedder.model_id
    table = container.settings.procedures_table
    for stored in ProcedureStore(container.dynamodb, table, container.page_tokens).scan_all():
        p = stored.procedure
        if stored.deleted or stored.vector is None:
            yield Wanted(stored.tenant, p.id, p.version, False)
            continue
        reuse = stored.vector if stored.embedding_model == model_id else None
        yield Wanted(stored.tenant, p.id, p.version, True, _procedure_builder(stored), reuse, embedding_text(p))
    for t in TrajectoryStore(container.dynamodb, table, container.page_tokens).scan_all():
        if t.vector is None:
            continue
        reuse = t.vector if t.embedding_model == model_id else None
        yield Wanted(
            t.tenant, t.trajectory.id, TRAJECTORY_VERSION, True, _trajectory_builder(t), reuse, t.trajectory.task
        )


def _procedure_builder(stored: StoredProcedure) -> Callable[[Sequence[float]], IndexedMemory]:
    return lambda vector: indexed_procedure(replace(stored, vector=list(vector)))


def _trajectory_builder(stored: StoredTrajectory) -> Callable[[Sequence[float]], IndexedMemory]:
    return lambda vector: indexed_trajectory(replace(stored, vector=list(vector)))
