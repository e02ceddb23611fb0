"""Memory generation requests and jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from contextiq import limits
from contextiq.models.common import Name, Request
from contextiq.models.memories import Fact, Scope

MANAGED_TOPIC_LABELS = (
    "USER_PERSONAL_INFO",
    "USER_PREFERENCES",
    "KEY_CONVERSATION_DETAILS",
    "EXPLICIT_INSTRUCTIONS",
)

Text = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_EVENT_CONTENT_BYTES)]


class DirectEvent(Request):
    author: Name
    role: Name | None = None
    text: Text
    timestamp: datetime | None = None


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


class GenerateRequest(Request):
    """Exactly one source: a stored session, direct events, or pre-extracted facts."""

    session_id: str | None = Field(default=None, max_length=64)
    after_seq: int | None = Field(default=None, ge=0)
    events: list[DirectEvent] | None = Field(default=None, min_length=1, max_length=limits.MAX_GENERATE_EVENTS)
    facts: list[Fact] | None = Field(default=None, min_length=1, max_length=limits.MAX_GENERATE_FACTS)
    scope: Scope | None = None
    topics: list[Annotated[str, StringConstraints(pattern=r"^[A-Z_]{1,64}$")] | CustomTopic] | None = Field(
        default=None, max_length=16
    )
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
        for topic in self.topics or []:
            if isinstance(topic, str) and topic not in MANAGED_TOPIC_LABELS:
                raise ValueError(
                    f"unknown managed topic {topic!r}; use one of {MANAGED_TOPIC_LABELS} or {{label, description}}"
                )
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


class Job(BaseModel):
    id: str
    status: JobStatus
    scope: dict[str, str]
    create_time: datetime
    update_time: datetime
    result: JobResult | None = None
    error: str | None = None


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus


def job_spec(req: GenerateRequest, scope: dict[str, str]) -> dict[str, Any]:
    """What the workers need from the request (stored with the job; the wait is the API's business)."""
    spec = req.model_dump(mode="json", exclude={"wait_seconds"}, exclude_none=True)
    spec["scope"] = scope
    return spec
