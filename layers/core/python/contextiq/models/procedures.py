"""Procedural memory: procedures (workflows and skills), their revisions, feedback and search."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contextiq import limits
from contextiq.models.common import NON_BLANK, NON_BLANK_LINE, TRIM, Metadata, Request, TtlSeconds, json_size, present
from contextiq.models.memories import Query, Scope, Topics

StepText = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_STEP_TEXT_CHARS, pattern=NON_BLANK), TRIM
]
ToolName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=NON_BLANK_LINE),
    TRIM,
]
ParameterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
ProcedureName = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_PROCEDURE_NAME_CHARS, pattern=NON_BLANK), TRIM
]
Description = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_PROCEDURE_DESCRIPTION_CHARS, pattern=NON_BLANK),
    TRIM,
]


def _check_arguments(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and json_size(value) > limits.MAX_STEP_ARGUMENTS_BYTES:
        raise ValueError(f"at most {limits.MAX_STEP_ARGUMENTS_BYTES} bytes of JSON allowed")
    return value


Arguments = Annotated[dict[str, Any] | None, AfterValidator(_check_arguments)]


class ProcedureKind(StrEnum):
    WORKFLOW = "workflow"
    SKILL = "skill"


class ProcedureStatus(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"


class Step(Request):
    """One step: what to do, optionally with which tool and arguments, and what to expect."""

    instruction: StepText
    tool: ToolName | None = None
    arguments: Arguments = None
    expected: StepText | None = None


class Parameter(Request):
    name: ParameterName
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    required: bool = True


Steps = Annotated[list[Step], Field(min_length=1, max_length=limits.MAX_PROCEDURE_STEPS)]


def _unique_parameters(parameters: list[Parameter]) -> list[Parameter]:
    names = [p.name for p in parameters]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"parameter names must be unique, repeated: {dupes}")
    return parameters


# JSON Schema cannot say "unique by name" (uniqueItems compares whole items): the description says it.
Parameters = Annotated[
    list[Parameter],
    Field(max_length=limits.MAX_PROCEDURE_PARAMETERS, description="parameter names are unique"),
    AfterValidator(_unique_parameters),
]


class ProcedureCreate(Request):
    scope: Scope
    kind: ProcedureKind
    name: ProcedureName
    description: Description = Field(description="when to use this procedure")
    steps: Steps
    parameters: Parameters = Field(default_factory=list)
    topics: Topics = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None


class ProcedurePatch(Request):
    """Change content (a new revision); ``status`` deprecates or reactivates by hand."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": present(
                name="string",
                description="string",
                steps="array",
                parameters="array",
                topics="array",
                metadata="object",
                status="string",
            )
        }
    )

    name: ProcedureName | None = None
    description: Description | None = None
    steps: Steps | None = None
    parameters: Parameters | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None
    status: ProcedureStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> ProcedurePatch:
        if all(getattr(self, f) is None for f in type(self).model_fields):
            raise ValueError("give at least one of " + ", ".join(type(self).model_fields))
        return self


class ProcedureStats(BaseModel):
    uses: int = 0
    successes: int = 0
    failures: int = 0
    success_rate: float | None = Field(default=None, description="successes / uses; null until first use")
    last_used_time: datetime | None = None


class Pitfall(BaseModel):
    note: str
    trajectory_id: str | None = None
    time: datetime


class Provenance(BaseModel):
    """What a procedure was learned from (newest last, at most MAX_PROVENANCE_IDS of each)."""

    trajectory_ids: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)


class Procedure(BaseModel):
    id: str
    scope: dict[str, str]
    kind: ProcedureKind
    name: str
    description: str
    steps: list[Step]
    parameters: list[Parameter]
    topics: list[str]
    metadata: dict[str, Any]
    status: ProcedureStatus
    status_reason: str | None = None
    stats: ProcedureStats
    pitfalls: list[Pitfall] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    create_time: datetime
    update_time: datetime
    expire_time: datetime | None = None
    version: int


class ProcedureAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DEPRECATED = "DEPRECATED"
    REACTIVATED = "REACTIVATED"
    PITFALL_ADDED = "PITFALL_ADDED"
    DELETED = "DELETED"


class ProcedureRevision(BaseModel):
    """One change, with the procedure's content as it was after the change."""

    revision_id: str
    procedure_id: str
    action: ProcedureAction
    reason: str | None = None
    actor: str
    name: str
    description: str
    steps: list[Step]
    parameters: list[Parameter]
    status: ProcedureStatus
    provenance: Provenance | None = None
    time: datetime
    version: int


class ProcedureSearchRequest(Request):
    scope: Scope
    query: Query
    top_k: int = Field(default=5, ge=1, le=limits.MAX_TOP_K)
    kind: ProcedureKind | None = None
    min_success_rate: float | None = Field(
        default=None, ge=0.0, le=1.0, description="procedures never used have no rate and are left out"
    )
    include_deprecated: bool = False
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"


class ProcedureSearchResult(BaseModel):
    procedure: Procedure
    score: float


class ProcedureSearchResponse(BaseModel):
    results: list[ProcedureSearchResult]


class Feedback(Request):
    outcome: Literal["success", "failure"]
    session_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    note: Annotated[str, StringConstraints(max_length=limits.MAX_FEEDBACK_NOTE_CHARS)] | None = None


def procedure_content_size(
    name: str, description: str, steps: list[Step], parameters: list[Parameter], pitfalls: list[Pitfall]
) -> int:
    return json_size(
        {
            "name": name,
            "description": description,
            "steps": [s.model_dump(mode="json") for s in steps],
            "parameters": [p.model_dump(mode="json") for p in parameters],
            "pitfalls": [p.model_dump(mode="json") for p in pitfalls],
        }
    )
