"""Long-term memories, their revisions and search."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contextiq import limits
from contextiq.models.common import NON_BLANK, TRIM, Metadata, Name, Request, Timestamp, TtlSeconds
from contextiq.models.filters import MetadataFilter

Scope = Annotated[
    dict[Name, Name],
    Field(
        min_length=limits.MIN_SCOPE_KEYS,
        max_length=limits.MAX_SCOPE_KEYS,
        description='Whose memory this is: 1-8 keys, e.g. {"user_id": "alice", "app": "travel"}. '
        "Scopes match exactly (same keys and values).",
    ),
]
_scope_adapter: TypeAdapter[dict[str, str]] = TypeAdapter(Scope)


def validate_scope(value: object) -> dict[str, str]:
    """Validate a scope that did not come in a body (e.g. query parameters); ValueError names the problem."""
    try:
        return _scope_adapter.validate_python(value)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValueError(f"{where + ': ' if where else ''}{first.get('msg')}") from None


# Trimmed after the checks (models.common.NON_BLANK), so the schema's limits are exact.
Fact = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_FACT_CHARS, pattern=NON_BLANK),
    TRIM,
]
Query = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_QUERY_CHARS, pattern=NON_BLANK), TRIM]
Topics = Annotated[list[Name], Field(max_length=limits.MAX_TOPICS_PER_MEMORY)]


# Naive times are taken as UTC; every stored time is UTC, to the millisecond (see models.common).
EventTime = Timestamp


def scope_key(scope: dict[str, str]) -> str:
    """Canonical, order-independent identity of a scope (exact match: same keys, same values)."""
    canonical = json.dumps(sorted(scope.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class Source(BaseModel):
    session_id: str | None = None
    event_ids: list[str] = Field(default_factory=list)


class MemoryCreate(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"scope": {"user_id": "alice"}, "fact": "Alice prefers aisle seats", "topics": ["travel"]}]
        },
    )

    scope: Scope
    fact: Fact
    topics: Topics = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None
    event_time: EventTime | None = Field(
        default=None,
        description="When the fact was said or happened (ISO 8601; naive = UTC). Defaults to the creation time.",
    )


class MemoryPatch(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"fact": "Alice prefers window seats"}],
            "anyOf": [
                {"required": ["fact"], "properties": {"fact": {"type": "string"}}},
                {"required": ["topics"], "properties": {"topics": {"type": "array"}}},
                {"required": ["metadata"], "properties": {"metadata": {"type": "object"}}},
                {"required": ["event_time"], "properties": {"event_time": {"type": "string"}}},
            ],
        },
    )

    fact: Fact | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None
    event_time: EventTime | None = None

    @model_validator(mode="after")
    def _something(self) -> MemoryPatch:
        if self.fact is None and self.topics is None and self.metadata is None and self.event_time is None:
            raise ValueError("give at least one of fact, topics, metadata, event_time")
        return self


class Memory(BaseModel):
    id: str
    scope: dict[str, str]
    fact: str
    topics: list[str]
    metadata: dict[str, Any]
    source: Source | None = None
    create_time: datetime
    update_time: datetime
    expire_time: datetime | None = None
    event_time: datetime = Field(description="When the fact was said or happened (the source events' time).")
    version: int


class RevisionAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Revision(BaseModel):
    revision_id: str
    memory_id: str
    action: RevisionAction
    fact: str
    previous_fact: str | None = None
    actor: str
    source: Source | None = None
    time: datetime
    version: int


def check_window(_cls: type, before: datetime | None, info: ValidationInfo) -> datetime | None:
    """`before` must be later than `after` (declared first). JSON Schema cannot compare two fields, so
    the field's description says it; the error names `before`."""
    after = info.data.get("after")
    if after is not None and before is not None and after >= before:
        raise ValueError("must be later than `after`")
    return before


def window_rule() -> Any:
    """The `before` > `after` rule, for a request model with both fields."""
    return field_validator("before")(classmethod(check_window))


class SearchRequest(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"scope": {"user_id": "alice"}, "query": "what food does the user avoid?", "top_k": 3}]
        },
    )

    scope: Scope
    query: Query
    top_k: int = Field(default=10, ge=1, le=limits.MAX_TOP_K)
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"
    min_score: float | None = Field(default=None, ge=0.0)
    topics: Topics | None = None
    after: EventTime | None = Field(default=None, description="only memories with event_time >= after")
    before: EventTime | None = Field(
        default=None, description="only memories with event_time < before; later than `after`"
    )
    filter: MetadataFilter | None = Field(
        default=None,
        description='AND of conditions: {"metadata.<key>": value | {"in": [...]} | {"gte": n, "lte": n}} '
        f"(at most {limits.MAX_FILTER_CONDITIONS} conditions, {limits.MAX_FILTER_VALUES} values per `in`)",
    )

    _window = window_rule()


class SearchResult(BaseModel):
    memory: Memory
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]
