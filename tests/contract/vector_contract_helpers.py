"""Shared helpers of the vector index contract suite (documents, vectors, the Backend record)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextiq.stores.vector.base import IndexedMemory, IndexInfo, VectorIndex
from tests.contract.fake_opensearch import FakeOpenSearchServer

DIM = 8
INFO = IndexInfo(model_id="contract-model", dimensions=DIM)
INDEX_NAME = "contextiq-memories-test"


@dataclass
class Backend:
    kind: str
    index: VectorIndex
    reopen: Callable[[], VectorIndex]  # another instance over the same storage (a new process)
    server: FakeOpenSearchServer | None = None


def unit(*weights: float) -> list[float]:
    """A unit vector from the first few coordinates (the rest are 0)."""
    v = list(weights) + [0.0] * (DIM - len(weights))
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def mem(
    memory_id: str,
    fact: str,
    vector: Sequence[float] | None = None,
    *,
    version: int = 1,
    tenant: str = "t1",
    scope: str = "user:u1",
    topics: tuple[str, ...] = (),
    expire_at: int | None = None,
    event_time: int | None = None,
    attrs: dict[str, tuple] | None = None,  # type: ignore[type-arg]
    kind: str = "memory",
) -> IndexedMemory:
    return IndexedMemory(
        tenant=tenant,
        memory_id=memory_id,
        scope_key=scope,
        fact=fact,
        topics=topics,
        vector=list(vector) if vector is not None else unit(1.0),
        version=version,
        expire_at=expire_at,
        event_time=event_time,
        attrs=attrs or {},
        kind=kind,  # type: ignore[arg-type]
    )
