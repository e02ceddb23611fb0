"""Sessions and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from contextiq import limits
from contextiq.models.common import Metadata, Name, Request, Timestamp, TtlSeconds
from contextiq.models.policies import GenerationPolicy, template_placeholders


class SessionCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": "alice", "app_name": "travel", "state": {"step": 0}}]}
    )

    user_id: Name
    app_name: Name | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None
    index_events: bool = Field(
        default=True,
        description="index this session's turns for POST /v1/events/search and POST /v1/recall (embedding plus "
        "keywords); false keeps every turn of the session out of the index, for good (set at creation only)",
    )
    generation_policy: GenerationPolicy | None = Field(
        default=None,
        description="This session's own generation policy, replacing its app's (docs/generation-policies.md)",
    )

    @model_validator(mode="after")
    def _template_fits(self) -> SessionCreate:
        policy = self.generation_policy
        if policy is not None and self.app_name is None and "app_name" in template_placeholders(policy.scope_template):
            raise ValueError("generation_policy.scope_template uses {app_name} but the session has no app_name")
        return self


class ForkOrigin(BaseModel):
    """Where a fork came from (its events up to ``seq`` are copies of that session's)."""

    session_id: str
    seq: int
    checkpoint_id: str | None = None


class EventSource(BaseModel):
    """The event an event was copied from (set on the events of a fork)."""

    session_id: str
    event_id: str


class Session(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01JD8X9Q3T9V6G8J2K4M5N7P8R",
                    "user_id": "alice",
                    "app_name": "travel",
                    "state": {"step": 0},
                    "metadata": {},
                    "create_time": "2026-11-30T12:00:00.000Z",
                    "update_time": "2026-11-30T12:00:00.000Z",
                    "version": 1,
                    "event_count": 0,
                }
            ]
        }
    )

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
    forked_from: ForkOrigin | None = Field(
        default=None, description="set on a fork: the session, seq and checkpoint it was forked from"
    )
    generation_policy: GenerationPolicy | None = Field(
        default=None, description="The session's own generation policy (else its app's applies)"
    )
    last_generated_seq: int = Field(
        default=0, description="Events up to this seq have been handed to a generation job by a policy"
    )
    last_job_id: str | None = Field(default=None, description="The last job a generation policy submitted")


class EventContent(Request):
    """`text`, `parts`, or both; at least one of them must say something."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["parts"], "properties": {"parts": {"type": "array", "minItems": 1}}},
            ]
        },
    )

    text: str | None = None
    parts: list[dict[str, Any]] | None = Field(default=None, max_length=limits.MAX_EVENT_PARTS)

    @model_validator(mode="after")
    def _not_empty(self) -> EventContent:
        if self.text is None and not self.parts:
            raise ValueError("content needs `text` or at least one of `parts`")
        return self


class EventCreate(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "author": "user",
                    "role": "user",
                    "content": {"text": "Hi, I am Alice. I am vegetarian and I live in Paris."},
                    "state_delta": {"step": 1},
                }
            ]
        },
    )

    author: Name
    role: Name | None = None
    content: EventContent
    timestamp: Timestamp | None = None
    metadata: Metadata = Field(default_factory=dict)
    state_delta: dict[str, Any] | None = None


class Event(BaseModel):
    id: str
    session_id: str
    seq: int
    author: str
    role: str | None
    # Titled so a generated SDK's class for it is not also named EventContent (the request's model).
    content: dict[str, Any] = Field(title="Content as recorded", description="`text` and/or `parts`, as sent.")
    timestamp: datetime
    metadata: dict[str, Any]
    state_delta: dict[str, Any] | None = Field(
        default=None, description="the delta this append merged into the session state (stored since forks)"
    )
    source: EventSource | None = Field(default=None, description="on a fork's events: the event copied")


class StatePatch(Request):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"set": {"theme": "dark"}, "remove": ["step"]}]}
    )

    set: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(
        default_factory=list, max_length=limits.MAX_STATE_REMOVE_KEYS, description="keys not also in `set`"
    )

    @field_validator("remove")
    @classmethod
    def _disjoint(cls, remove: list[str], info: ValidationInfo) -> list[str]:
        # JSON Schema cannot compare two fields: the description says it, the error names `remove`.
        both = set(info.data.get("set") or {}) & set(remove)
        if both:
            raise ValueError(f"keys both set and removed: {sorted(both)}")
        return remove
