"""Sessions and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from contextiq import limits
from contextiq.models.common import Metadata, Name, Request, TtlSeconds


class SessionCreate(Request):
    user_id: Name
    app_name: Name | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None


class Session(BaseModel):
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


class EventContent(Request):
    text: str | None = None
    parts: list[dict[str, Any]] | None = Field(default=None, max_length=limits.MAX_EVENT_PARTS)

    @model_validator(mode="after")
    def _not_empty(self) -> EventContent:
        if self.text is None and not self.parts:
            raise ValueError("content needs `text` or at least one of `parts`")
        return self


class EventCreate(Request):
    author: Name
    role: Name | None = None
    content: EventContent
    timestamp: datetime | None = None
    metadata: Metadata = Field(default_factory=dict)
    state_delta: dict[str, Any] | None = None


class Event(BaseModel):
    id: str
    session_id: str
    seq: int
    author: str
    role: str | None
    content: dict[str, Any]
    timestamp: datetime
    metadata: dict[str, Any]


class StatePatch(Request):
    set: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _disjoint(self) -> StatePatch:
        both = set(self.set) & set(self.remove)
        if both:
            raise ValueError(f"keys both set and removed: {sorted(both)}")
        return self
