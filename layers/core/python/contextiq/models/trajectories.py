"""Trajectories (what an agent did and how it ended) and learning procedures from them."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contextiq import limits
from contextiq.models.common import NON_BLANK, NULL, TRIM, Metadata, Request, TtlSeconds, present
from contextiq.models.memories import Query, Scope
from contextiq.models.pipeline import JobMessage
from contextiq.models.procedures import Arguments, StepText, ToolName

Task = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_TASK_CHARS, pattern=NON_BLANK), TRIM]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class TrajectoryStepIn(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"anyOf": present(thought="string", tool="string", observation="string")},
                # arguments go with a tool
                {"anyOf": [{"properties": {"arguments": NULL}}, *present(tool="string")]},
            ]
        }
    )

    thought: StepText | None = None
    tool: ToolName | None = None
    arguments: Arguments = None
    observation: StepText | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TrajectoryStepIn:
        if self.thought is None and self.tool is None and self.observation is None:
            raise ValueError("a step needs at least one of thought, tool, observation")
        if self.arguments is not None and self.tool is None:
            raise ValueError("arguments go with a tool")
        return self


class TrajectoryStep(BaseModel):
    thought: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    observation: str | None = None
    event_ids: list[str] = Field(default_factory=list, description="the session events this step came from")


class Outcome(Request):
    status: Literal["success", "failure", "partial"]
    reward: Annotated[float | None, AfterValidator(_finite)] = None
    feedback: StepText | None = None


class TrajectoryCreate(Request):
    """Exactly one source of steps: ``steps`` inline, or ``session_id`` (+ optional seq window)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["steps"],
                    "properties": {
                        "steps": {"type": "array"},
                        "session_id": NULL,
                        "after_seq": NULL,
                        "before_seq": NULL,
                    },
                },
                {"required": ["session_id"], "properties": {"session_id": {"type": "string"}, "steps": NULL}},
            ]
        }
    )

    scope: Scope
    task: Task
    steps: list[TrajectoryStepIn] | None = Field(default=None, min_length=1, max_length=limits.MAX_TRAJECTORY_STEPS)
    session_id: SessionId | None = None
    after_seq: int | None = Field(default=None, ge=0, description="only events with seq > after_seq")
    before_seq: int | None = Field(
        default=None, ge=1, description="only events with seq < before_seq; greater than after_seq + 1"
    )

    @field_validator("before_seq")
    @classmethod
    def _window(cls, before_seq: int | None, info: ValidationInfo) -> int | None:
        after_seq = info.data.get("after_seq")
        if before_seq is not None and after_seq is not None and before_seq <= after_seq + 1:
            raise ValueError("must be greater than after_seq + 1 (the window would be empty)")
        return before_seq

    outcome: Outcome
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TrajectoryCreate:
        if (self.steps is None) == (self.session_id is None):
            raise ValueError("give exactly one of steps, session_id")
        if (self.after_seq is not None or self.before_seq is not None) and self.session_id is None:
            raise ValueError("after_seq and before_seq go with session_id")
        return self


class Trajectory(BaseModel):
    id: str
    scope: dict[str, str]
    task: str
    steps: list[TrajectoryStep]
    outcome: Outcome
    session_id: str | None = None
    event_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any]
    create_time: datetime
    expire_time: datetime | None = None


class TrajectorySearchRequest(Request):
    scope: Scope
    query: Query
    top_k: int = Field(default=10, ge=1, le=limits.MAX_TOP_K)
    outcome: Literal["success", "failure", "partial"] | None = None


class TrajectorySearchResult(BaseModel):
    trajectory: Trajectory
    score: float


class TrajectorySearchResponse(BaseModel):
    results: list[TrajectorySearchResult]


class ProcedureGenerateRequest(Request):
    """Learn procedures from stored trajectories, or from a session (taken as one trajectory)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["trajectory_ids"],
                    "properties": {
                        "trajectory_ids": {"type": "array"},
                        **dict.fromkeys(("session_id", "after_seq", "before_seq", "task", "outcome"), NULL),
                    },
                },
                {"required": ["session_id"], "properties": {"session_id": {"type": "string"}, "trajectory_ids": NULL}},
            ]
        }
    )

    scope: Scope
    trajectory_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] | None = Field(
        default=None,
        min_length=1,
        max_length=limits.MAX_GENERATE_TRAJECTORIES,
        json_schema_extra={"uniqueItems": True},
    )
    session_id: SessionId | None = None
    after_seq: int | None = Field(default=None, ge=0)
    before_seq: int | None = Field(default=None, ge=1)
    task: Task | None = Field(default=None, description="with session_id; default: the session's first user turn")
    outcome: Outcome | None = Field(default=None, description="with session_id; default: success")
    wait_seconds: float = Field(default=0, ge=0, le=limits.MAX_WAIT_SECONDS)

    @model_validator(mode="after")
    def _one_source(self) -> ProcedureGenerateRequest:
        if (self.trajectory_ids is None) == (self.session_id is None):
            raise ValueError("give exactly one of trajectory_ids, session_id")
        if self.session_id is None and any(
            v is not None for v in (self.after_seq, self.before_seq, self.task, self.outcome)
        ):
            raise ValueError("after_seq, before_seq, task and outcome go with session_id")
        if self.trajectory_ids is not None and len(set(self.trajectory_ids)) != len(self.trajectory_ids):
            raise ValueError("trajectory_ids must not repeat")
        return self


class ProcedureJobSpec(BaseModel):
    """What the learning worker reads from a procedure generation job (stored with the job)."""

    kind: Literal["procedures"] = "procedures"
    scope: dict[str, str]
    trajectory_ids: list[str] | None = None
    session_id: str | None = None
    after_seq: int | None = None
    before_seq: int | None = None
    task: str | None = None
    outcome: Outcome | None = None

    @classmethod
    def of(cls, req: ProcedureGenerateRequest) -> ProcedureJobSpec:
        return cls.model_validate(req.model_dump(exclude={"wait_seconds"}, exclude_none=True))

    def to_json(self) -> str:
        """The stored form (``kind`` tells GET /v1/jobs/{id} which kind of job it is)."""
        return self.model_dump_json(exclude_none=True)


class ProcedureLearningMessage(JobMessage):
    """The procedure-learning queue's message (FIFO, one group per tenant + scope): learn for one job."""
