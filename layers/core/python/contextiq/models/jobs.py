"""Memory generation requests and jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from contextiq import limits
from contextiq.models.common import Name, Request, Timestamp
from contextiq.models.memories import Fact, Scope

ManagedTopic = Literal[
    "USER_PERSONAL_INFO",
    "USER_PREFERENCES",
    "KEY_CONVERSATION_DETAILS",
    "EXPLICIT_INSTRUCTIONS",
]
MANAGED_TOPIC_LABELS: tuple[str, ...] = get_args(ManagedTopic)

Text = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_EVENT_CONTENT_BYTES)]


class DirectEvent(Request):
    author: Name
    role: Name | None = None
    text: Text
    timestamp: Timestamp | None = None


class CustomTopic(Request):
    label: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ExampleTurn(Request):
    author: Name
    role: Name | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class Example(Request):
    conversation: list[ExampleTurn] = Field(min_length=1, max_length=20)
    facts: list[Fact] = Field(max_length=20)


_NULL: JsonDict = {"type": "null"}


class GenerateRequest(Request):
    """Exactly one source: a stored session, direct events, or pre-extracted facts."""

    # The validator below, said in JSON Schema: one source; `scope` unless the source is a session
    # (then it defaults to the session's user_id); `after_seq` only with a session.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["session_id"],
                    "properties": {"session_id": {"type": "string"}, "events": _NULL, "facts": _NULL},
                },
                {
                    "required": ["events", "scope"],
                    "properties": {
                        "events": {"type": "array"},
                        "scope": {"type": "object"},
                        "session_id": _NULL,
                        "facts": _NULL,
                        "after_seq": _NULL,
                    },
                },
                {
                    "required": ["facts", "scope"],
                    "properties": {
                        "facts": {"type": "array"},
                        "scope": {"type": "object"},
                        "session_id": _NULL,
                        "events": _NULL,
                        "after_seq": _NULL,
                    },
                },
            ],
            "examples": [
                {"session_id": "01JD8X9Q3T9V6G8J2K4M5N7P8R", "wait_seconds": 20},
                {"facts": ["Alice is vegetarian"], "scope": {"user_id": "alice"}},
            ],
        },
    )

    session_id: str | None = Field(default=None, max_length=64)
    after_seq: int | None = Field(default=None, ge=0)
    events: list[DirectEvent] | None = Field(default=None, min_length=1, max_length=limits.MAX_GENERATE_EVENTS)
    facts: list[Fact] | None = Field(default=None, min_length=1, max_length=limits.MAX_GENERATE_FACTS)
    scope: Scope | None = None
    topics: list[ManagedTopic | CustomTopic] | None = Field(default=None, max_length=16)
    examples: list[Example] | None = Field(default=None, max_length=10)
    disable_consolidation: bool = False
    wait_seconds: float = Field(default=0, ge=0, le=limits.MAX_WAIT_SECONDS)

    @model_validator(mode="after")
    def _one_source(self) -> GenerateRequest:
        given = [n for n in ("session_id", "events", "facts") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one source of session_id, events, facts (got {given or 'none'})")
        if self.after_seq is not None and self.session_id is None:
            raise ValueError("after_seq goes with session_id")
        if self.scope is None and self.session_id is None:
            raise ValueError("scope is required unless the source is a session (then it defaults to its user_id)")
        return self


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class JobResult(BaseModel):
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    memory_ids: list[str] = Field(default_factory=list)
    procedure_ids: list[str] = Field(default_factory=list, description="procedure generation jobs")


class Job(BaseModel):
    id: str
    kind: Literal["memories", "procedures"] = "memories"
    status: JobStatus
    scope: dict[str, str]
    create_time: datetime
    update_time: datetime
    result: JobResult | None = None
    error: str | None = None
    session_id: str | None = Field(default=None, description="The session whose events the job reads, if any")
    trigger: Literal["every_n_events", "idle", "session_delete"] | None = Field(
        default=None, description="The generation policy trigger that submitted the job (none: a generate request)"
    )


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
