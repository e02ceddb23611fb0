"""Typed request and response models, written over the schemas of ``docs/openapi.json``.

Response models ignore fields they do not know, so a newer server does not break an older SDK; request
models forbid unknown fields like the server does. Validation limits (lengths, counts) are the server's
business: it answers a typed :class:`~contextiq_sdk.errors.InvalidInputError` naming the field.
``tests/clients/test_sdk_drift.py`` fails when these models and the document drift apart.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Response, Generic[T]):
    """One page of a listing; pass ``next_token`` back for the next one (``None`` on the last)."""

    items: list[T]
    next_token: str | None = None


# --- generation policies -----------------------------------------------------------------------------


class GenerationPolicy(Request):
    """When a session's events become memories by themselves (docs/generation-policies.md)."""

    model_config = ConfigDict(extra="ignore")  # also read back inside a Session: a newer server may add fields

    every_n_events: int | None = None
    idle_seconds: int | None = None
    on_session_delete: bool = False
    topics: list[str | CustomTopic] | None = None
    examples: list[Example] | None = None
    scope_template: dict[str, str] = Field(default_factory=lambda: {"user_id": "{user_id}"})


class AppPolicy(GenerationPolicy):
    """An app's policy: its sessions' generation policy and whether the app's turns are indexed for event
    search and recall (``index_events``; docs/search.md "Opting out")."""

    index_events: bool = True


class AppGenerationPolicy(Response):
    index_events: bool = True
    every_n_events: int | None = None
    idle_seconds: int | None = None
    on_session_delete: bool = False
    topics: list[str | CustomTopic] | None = None
    examples: list[Example] | None = None
    scope_template: dict[str, str] = Field(default_factory=lambda: {"user_id": "{user_id}"})
    app_name: str
    create_time: datetime
    update_time: datetime
    version: int


class AppGenerationPolicyPage(Page[AppGenerationPolicy]):
    pass


class SessionPatch(Request):
    null_means_remove: ClassVar[tuple[str, ...]] = ("generation_policy",)

    generation_policy: GenerationPolicy | None


# --- sessions and events ---------------------------------------------------------------------------


class SessionCreate(Request):
    user_id: str
    app_name: str | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int | None = None
    index_events: bool = True
    generation_policy: GenerationPolicy | None = None


class ForkOrigin(Response):
    session_id: str
    seq: int
    checkpoint_id: str | None = None


class EventSource(Response):
    session_id: str
    event_id: str


class Session(Response):
    id: str
    user_id: str
    app_name: str | None
    state: dict[str, Any]
    metadata: dict[str, Any]
    create_time: datetime
    update_time: datetime
    expire_time: datetime | None = None
    version: int
    event_count: int = 0
    index_events: bool = True
    forked_from: ForkOrigin | None = None
    generation_policy: GenerationPolicy | None = None
    last_generated_seq: int = 0
    last_job_id: str | None = None


class EventContent(Request):
    text: str | None = None
    parts: list[dict[str, Any]] | None = None


class EventCreate(Request):
    author: str
    role: str | None = None
    content: EventContent
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    state_delta: dict[str, Any] | None = None


class Event(Response):
    id: str
    session_id: str
    seq: int
    author: str
    role: str | None
    content: dict[str, Any]
    timestamp: datetime
    metadata: dict[str, Any]
    state_delta: dict[str, Any] | None = None
    source: EventSource | None = None

    @property
    def text(self) -> str | None:
        value = self.content.get("text")
        return value if isinstance(value, str) else None


class SessionPage(Page[Session]):
    pass


class EventPage(Page[Event]):
    pass


class StatePatch(Request):
    set: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class CheckpointCreate(Request):
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Checkpoint(Response):
    checkpoint_id: str
    session_id: str
    name: str | None = None
    metadata: dict[str, Any]
    seq: int
    state: dict[str, Any]
    version: int
    create_time: datetime
    expire_time: datetime | None = None


class CheckpointPage(Page[Checkpoint]):
    pass


class ForkCreate(Request):
    """Exactly one of ``checkpoint_id`` and ``at_seq``."""

    checkpoint_id: str | None = None
    at_seq: int | None = None
    metadata: dict[str, Any] | None = None
    ttl_seconds: int | None = None


# --- memories ----------------------------------------------------------------------------------------


class Source(Response):
    session_id: str | None = None
    event_ids: list[str] = Field(default_factory=list)


class MemoryCreate(Request):
    scope: dict[str, str]
    fact: str
    topics: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int | None = None
    event_time: datetime | None = None


class MemoryPatch(Request):
    fact: str | None = None
    topics: list[str] | None = None
    metadata: dict[str, Any] | None = None
    event_time: datetime | None = None


class Memory(Response):
    id: str
    scope: dict[str, str]
    fact: str
    topics: list[str]
    metadata: dict[str, Any]
    source: Source | None = None
    event_time: datetime
    create_time: datetime
    update_time: datetime
    expire_time: datetime | None = None
    version: int


class RevisionAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Revision(Response):
    revision_id: str
    memory_id: str
    action: RevisionAction
    fact: str
    previous_fact: str | None = None
    actor: str
    source: Source | None = None
    time: datetime
    version: int


class MemoryPage(Page[Memory]):
    pass


class RevisionPage(Page[Revision]):
    pass


SearchMode = Literal["hybrid", "semantic", "keyword"]


class SearchRequest(Request):
    scope: dict[str, str]
    query: str
    top_k: int = 10
    mode: SearchMode = "hybrid"
    min_score: float | None = None
    topics: list[str] | None = None
    after: datetime | None = None
    before: datetime | None = None
    filter: dict[str, Any] | None = None  # {"metadata.<key>": value | {"in": [...]} | {"gte": n, "lte": n}}


class SearchResult(Response):
    memory: Memory
    score: float


class SearchResponse(Response):
    results: list[SearchResult]


# --- events search and recall ------------------------------------------------------------------------


class EventSearchRequest(Request):
    user_id: str
    app_name: str | None = None
    session_id: str | None = None
    query: str
    top_k: int = 10
    mode: SearchMode = "hybrid"
    after: datetime | None = None
    before: datetime | None = None


class EventResult(Response):
    event: Event
    score: float


class EventSearchResponse(Response):
    results: list[EventResult]


RecallSource = Literal["memory", "event"]


class RecallRequest(Request):
    scope: dict[str, str]
    query: str
    top_k: int = 10
    sources: list[RecallSource] | None = None
    after: datetime | None = None
    before: datetime | None = None
    filter: dict[str, Any] | None = None
    use_query_dates: bool = True


class RecallResult(Response):
    type: RecallSource
    score: float
    memory: Memory | None = None
    event: Event | None = None


class QueryAnchor(Response):
    """An event-anchored date expression of a recall query ("before my trip") and the event it resolved to."""

    relation: Literal["before", "after"]
    phrase: str
    event_id: str
    session_id: str
    timestamp: datetime
    confidence: float


class RecallResponse(Response):
    results: list[RecallResult]
    after: datetime | None = None
    before: datetime | None = None
    anchor: QueryAnchor | None = None


# --- generation and jobs -----------------------------------------------------------------------------


class DirectEvent(Request):
    author: str
    role: str | None = None
    text: str
    timestamp: datetime | None = None


class CustomTopic(Request):
    label: str
    description: str


class ExampleTurn(Request):
    author: str
    role: str | None = None
    text: str


class Example(Request):
    conversation: list[ExampleTurn]
    facts: list[str]


class GenerateRequest(Request):
    """Exactly one source: ``session_id``, ``events`` or ``facts`` (the server checks)."""

    session_id: str | None = None
    after_seq: int | None = None
    events: list[DirectEvent] | None = None
    facts: list[str] | None = None
    scope: dict[str, str] | None = None
    topics: list[str | CustomTopic] | None = None
    examples: list[Example] | None = None
    disable_consolidation: bool = False
    wait_seconds: float = 0


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def done(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class JobResult(Response):
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    memory_ids: list[str] = Field(default_factory=list)
    procedure_ids: list[str] = Field(default_factory=list)


class Job(Response):
    id: str
    kind: Literal["memories", "procedures"] = "memories"
    status: JobStatus
    scope: dict[str, str]
    create_time: datetime
    update_time: datetime
    result: JobResult | None = None
    error: str | None = None
    session_id: str | None = None
    trigger: Literal["every_n_events", "idle", "session_delete"] | None = None


class JobPage(Page[Job]):
    pass


class JobAccepted(Response):
    job_id: str
    status: JobStatus


# --- errors ------------------------------------------------------------------------------------------


class FieldError(Response):
    field: str
    message: str


class Problem(Response):
    """RFC 9457 problem details, as every error answers."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)
