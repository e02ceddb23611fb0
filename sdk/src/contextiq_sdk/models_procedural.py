"""Procedural memory models (procedures, their revisions and search; trajectories), written over the schemas of
``docs/openapi.json`` like :mod:`contextiq_sdk.models` (the drift test checks both)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from contextiq_sdk.models import Page, Request, Response


class ProcedureAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DEPRECATED = "DEPRECATED"
    REACTIVATED = "REACTIVATED"
    PITFALL_ADDED = "PITFALL_ADDED"
    DELETED = "DELETED"


class ProcedureKind(StrEnum):
    WORKFLOW = "workflow"
    SKILL = "skill"


class ProcedureStatus(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"


class Feedback(Request):
    note: str | None = None
    outcome: Literal["success", "failure"]
    session_id: str | None = None


class Outcome(Response):
    feedback: str | None = None
    reward: float | None = None
    status: Literal["success", "failure", "partial"]


class Parameter(Response):
    description: str | None = None
    name: str
    required: bool = True


class Pitfall(Response):
    note: str
    time: datetime
    trajectory_id: str | None = None


class ProcedureGenerateRequest(Request):
    after_seq: int | None = None
    before_seq: int | None = None
    outcome: Outcome | None = None
    scope: dict[str, str]
    session_id: str | None = None
    task: str | None = None
    trajectory_ids: list[str] | None = None
    wait_seconds: float = 0


class ProcedureSearchRequest(Request):
    include_deprecated: bool = False
    kind: ProcedureKind | None = None
    min_success_rate: float | None = None
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"
    query: str
    scope: dict[str, str]
    top_k: int = 5


class ProcedureStats(Response):
    failures: int = 0
    last_used_time: datetime | None = None
    success_rate: float | None = None
    successes: int = 0
    uses: int = 0


class Provenance(Response):
    event_ids: list[str] = Field(default_factory=list)
    trajectory_ids: list[str] = Field(default_factory=list)


class Step(Response):
    arguments: dict[str, Any] | None = None
    expected: str | None = None
    instruction: str
    tool: str | None = None


class TrajectorySearchRequest(Request):
    outcome: Literal["success", "failure", "partial"] | None = None
    query: str
    scope: dict[str, str]
    top_k: int = 10


class TrajectoryStep(Response):
    arguments: dict[str, Any] | None = None
    event_ids: list[str] = Field(default_factory=list)
    observation: str | None = None
    thought: str | None = None
    tool: str | None = None


class TrajectoryStepIn(Request):
    arguments: dict[str, Any] | None = None
    observation: str | None = None
    thought: str | None = None
    tool: str | None = None


class Procedure(Response):
    create_time: datetime
    description: str
    expire_time: datetime | None = None
    id: str
    kind: ProcedureKind
    metadata: dict[str, Any]
    name: str
    parameters: list[Parameter]
    pitfalls: list[Pitfall] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    scope: dict[str, str]
    stats: ProcedureStats
    status: ProcedureStatus
    status_reason: str | None = None
    steps: list[Step]
    topics: list[str]
    update_time: datetime
    version: int


class ProcedureCreate(Request):
    description: str
    kind: ProcedureKind
    metadata: dict[str, Any] = Field(default_factory=dict)
    name: str
    parameters: list[Parameter] = Field(default_factory=list)
    scope: dict[str, str]
    steps: list[Step]
    topics: list[str] = Field(default_factory=list)
    ttl_seconds: int | None = None


class ProcedurePage(Page[Procedure]):
    pass


class ProcedurePatch(Request):
    description: str | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    parameters: list[Parameter] | None = None
    status: ProcedureStatus | None = None
    steps: list[Step] | None = None
    topics: list[str] | None = None


class ProcedureRevision(Response):
    action: ProcedureAction
    actor: str
    description: str
    name: str
    parameters: list[Parameter]
    procedure_id: str
    provenance: Provenance | None = None
    reason: str | None = None
    revision_id: str
    status: ProcedureStatus
    steps: list[Step]
    time: datetime
    version: int


class ProcedureRevisionPage(Page[ProcedureRevision]):
    pass


class ProcedureSearchResult(Response):
    procedure: Procedure
    score: float


class Trajectory(Response):
    create_time: datetime
    event_ids: list[str] = Field(default_factory=list)
    expire_time: datetime | None = None
    id: str
    metadata: dict[str, Any]
    outcome: Outcome
    scope: dict[str, str]
    session_id: str | None = None
    steps: list[TrajectoryStep]
    task: str


class TrajectoryCreate(Request):
    after_seq: int | None = None
    before_seq: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome
    scope: dict[str, str]
    session_id: str | None = None
    steps: list[TrajectoryStepIn] | None = None
    task: str
    ttl_seconds: int | None = None


class TrajectoryPage(Page[Trajectory]):
    pass


class TrajectorySearchResult(Response):
    score: float
    trajectory: Trajectory


class ProcedureSearchResponse(Response):
    results: list[ProcedureSearchResult]


class TrajectorySearchResponse(Response):
    results: list[TrajectorySearchResult]
