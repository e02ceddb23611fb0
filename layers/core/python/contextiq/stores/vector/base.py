"""The vector index interface. DynamoDB is the system of record; an index is derived and rebuildable.

Every document carries the memory ``version``: an upsert or delete with a version lower than (or
equal to) the one already stored is ignored, so repeated and out-of-order updates are harmless.
Deletes are recorded as tombstones (a deleted document keeps its version) for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from contextiq.models.conditions import Condition as Condition
from contextiq.models.conditions import Scalar as Scalar

SearchMode = Literal["hybrid", "semantic", "keyword"]
Normalize = Literal["max", "minmax"]
DEFAULT_KEYWORD_WEIGHT = 0.5
DocKind = Literal["memory", "event", "procedure", "trajectory"]  # a search only ever sees documents of its own kind


class IndexMismatchError(Exception):
    """The index was built with another embedding model or dimension than the one configured."""


@dataclass(frozen=True)
class HybridFusion:
    """How a hybrid search fuses its semantic and keyword-coverage lists (``fusion.fuse``): the keyword
    weight ``w``; how coverage becomes ``k`` in [0, 1] (``max``: divided by the list's best; ``minmax``:
    rescaled between the list's worst and best, so the weakest match adds nothing); and whether the
    keyword side drops the query's function words (``text.QUERY_FUNCTION_WORDS``)."""

    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT
    normalize: Normalize = "max"
    drop_function_words: bool = False

    def label(self) -> str:
        return f"w={self.keyword_weight:g} {self.normalize}" + (" -function words" if self.drop_function_words else "")


@dataclass(frozen=True)
class IndexedMemory:
    tenant: str
    memory_id: str
    scope_key: str  # canonical scope string (see contextiq.models.scope_key); matched exactly
    fact: str
    topics: tuple[str, ...]
    vector: Sequence[float]
    version: int
    expire_at: int | None = None  # epoch seconds; expired documents never match
    event_time: int | None = None  # epoch milliseconds: when the fact was said/happened (after/before filters)
    attrs: Mapping[str, tuple[Scalar, ...]] = field(default_factory=dict)  # filterable attributes
    kind: DocKind = "memory"


@dataclass(frozen=True)
class SearchQuery:
    tenant: str
    scope_key: str
    text: str
    vector: Sequence[float] | None  # None for mode="keyword"
    top_k: int = 10
    mode: SearchMode = "hybrid"
    min_score: float | None = None
    topics: tuple[str, ...] = ()  # any-of filter; empty means no filter
    now: int = 0  # epoch seconds, for expiry
    after: int | None = None  # epoch ms, inclusive: only documents with event_time >= after
    before: int | None = None  # epoch ms, exclusive: only documents with event_time < before
    filters: tuple[Condition, ...] = ()  # AND-combined
    kind: DocKind = "memory"
    extra: dict[str, str] = field(default_factory=dict)
    fusion: HybridFusion | None = None  # hybrid only: how to fuse; None = the index's default (keyword weight)


@dataclass(frozen=True)
class SearchHit:
    memory_id: str
    score: float
    version: int


@dataclass(frozen=True)
class IndexInfo:
    model_id: str
    dimensions: int


class VectorIndex(Protocol):
    def ensure(self, info: IndexInfo) -> None:
        """Create the index if missing; raise IndexMismatchError if it exists with another model/dim."""
        ...

    def upsert(self, docs: Sequence[IndexedMemory]) -> None:
        """Insert or replace documents whose version is newer than the stored one."""
        ...

    def delete(self, tenant: str, memory_id: str, version: int) -> None:
        """Tombstone a document at ``version`` (ignored if an equal or newer version is stored)."""
        ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best first; only live documents of exactly ``query.tenant`` and ``query.scope_key``."""
        ...

    def drop(self) -> None:
        """Remove the whole index (used by scripts/reindex.py before a rebuild)."""
        ...
