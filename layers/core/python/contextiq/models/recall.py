"""Episode search (the events said in sessions) and unified recall (memories + events)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from contextiq import limits
from contextiq.models.common import Name, Request
from contextiq.models.filters import MetadataFilter
from contextiq.models.memories import EventTime, Memory, Query, Scope, window_rule
from contextiq.models.sessions import Event

Mode = Literal["hybrid", "semantic", "keyword"]
Source = Literal["memory", "event"]


class EventSearchRequest(Request):
    user_id: Name
    app_name: Name | None = None
    session_id: Name | None = None
    query: Query
    top_k: int = Field(default=10, ge=1, le=limits.MAX_TOP_K)
    mode: Mode = "hybrid"
    after: EventTime | None = Field(default=None, description="only events with timestamp >= after")
    before: EventTime | None = Field(
        default=None, description="only events with timestamp < before; later than `after`"
    )

    _window = window_rule()


class EventResult(BaseModel):
    event: Event
    score: float


class EventSearchResponse(BaseModel):
    results: list[EventResult]


class RecallRequest(Request):
    scope: Scope
    query: Query
    top_k: int = Field(default=10, ge=1, le=limits.MAX_TOP_K)
    sources: list[Source] | None = Field(
        default=None,
        min_length=1,
        description="what to search: memories of the scope and/or events of the scope's user "
        "(and app_name, when the scope has one); default both",
    )
    after: EventTime | None = None
    before: EventTime | None = Field(default=None, description="later than `after`")
    filter: MetadataFilter | None = None
    use_query_dates: bool = Field(
        default=True,
        description='turn date expressions in the query ("in 2022", "last May", "before her trip") into an '
        "after/before window that boosts what falls inside it, when none is given (see docs/search.md)",
    )

    _window = window_rule()


class RecallResult(BaseModel):
    type: Source
    score: float
    memory: Memory | None = None
    event: Event | None = None


class QueryAnchor(BaseModel):
    """An event-anchored date expression of the query and the event it was resolved to."""

    relation: Literal["before", "after"]
    phrase: str = Field(description='the anchor as the query names it ("her trip to Lisbon")')
    event_id: str
    session_id: str
    timestamp: EventTime = Field(description="the anchor event's time: the bound of the window")
    confidence: float = Field(description="share of the phrase's content words found in the event's text")


class RecallResponse(BaseModel):
    results: list[RecallResult]
    after: EventTime | None = Field(default=None, description="the window applied (given, or read from the query)")
    before: EventTime | None = None
    anchor: QueryAnchor | None = Field(
        default=None, description="when the window comes from an event named in the query (docs/search.md)"
    )
