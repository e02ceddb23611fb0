"""Context assembly: POST /v1/context asks for a ready prompt context within a token budget."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contextiq import limits
from contextiq.models.common import NAME_PATTERN, Request, json_size
from contextiq.models.memories import Query, Scope
from contextiq.models.templates import TemplateBody, TemplateRef

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _check_variables(value: dict[str, Any]) -> dict[str, Any]:
    bad = sorted(k for k in value if not VARIABLE_NAME.match(k))
    if bad:
        raise ValueError(f"variable names are identifiers ([A-Za-z_][A-Za-z0-9_]{{0,63}}): {', '.join(bad)[:200]}")
    if json_size(value) > limits.MAX_CONTEXT_VARIABLES_BYTES:
        raise ValueError(f"at most {limits.MAX_CONTEXT_VARIABLES_BYTES} bytes of JSON allowed")
    return value


class ContextRequest(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"session_id": "01JD8X9Q3T9V6G8J2K4M5N7P8R", "max_tokens": 1500},
                {
                    "scope": {"user_id": "alice"},
                    "query": "plan a weekend trip",
                    "max_tokens": 800,
                    "memories": 5,
                    "template_id": "01JD8XA1B2C3D4E5F6G7H8J9K0",
                    "variables": {"customer": "Alice"},
                },
            ],
            # The validator's rules, in the schema (a null is as good as absent): session_id or scope (or
            # both); not template_id and template together; template_version only with template_id.
            "allOf": [
                {
                    "anyOf": [
                        {"required": ["session_id"], "properties": {"session_id": {"type": "string"}}},
                        {"required": ["scope"], "properties": {"scope": {"type": "object"}}},
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"template_id": {"type": "null"}}},
                        {"properties": {"template": {"type": "null"}}},
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"template_version": {"type": "null"}}},
                        {"required": ["template_id"], "properties": {"template_id": {"type": "string"}}},
                    ]
                },
            ],
        },
    )

    session_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=NAME_PATTERN)] | None
    ) = Field(
        default=None,
        description="The session: its last turns, its user (default scope) and last user turn (default query).",
    )
    scope: Scope | None = Field(default=None, description="The memory scope; defaults to the session's {user_id}.")
    query: Query | None = Field(
        default=None, description="What to search for; defaults to the text of the session's last user turn."
    )
    max_tokens: int = Field(
        ge=1, le=limits.MAX_CONTEXT_TOKENS, description="The budget, in estimated tokens (docs/context.md)."
    )
    recent_events: int = Field(
        default=10, ge=0, le=limits.MAX_CONTEXT_RECENT_EVENTS, description="The session's last turns to include."
    )
    memories: int = Field(
        default=10, ge=0, le=limits.MAX_CONTEXT_MEMORIES, description="Memories of the scope to include, best first."
    )
    events: int = Field(
        default=5,
        ge=0,
        le=limits.MAX_CONTEXT_EVENTS,
        description="Earlier turns of the user's sessions found by search.",
    )
    procedures: int = Field(
        default=3, ge=0, le=limits.MAX_CONTEXT_PROCEDURES, description="Procedures of the scope to include."
    )
    template_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=NAME_PATTERN)] | None
    ) = Field(default=None, description="A stored template (`default` when neither it nor `template` is given).")
    template: TemplateBody | None = Field(
        default=None, description="An inline template body, checked like a stored one."
    )
    template_version: int | None = Field(default=None, ge=1, le=10**9, description="A version of `template_id`.")
    variables: Annotated[dict[str, Any], AfterValidator(_check_variables)] = Field(
        default_factory=dict, description="Values of the template's declared variables.",
        json_schema_extra={"propertyNames": {"pattern": VARIABLE_NAME.pattern}},
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> ContextRequest:
        if self.session_id is None and self.scope is None:
            raise ValueError("give session_id, scope, or both")
        if self.template_id is not None and self.template is not None:
            raise ValueError("give template_id or template, not both")
        if self.template_version is not None and self.template_id is None:
            raise ValueError("template_version needs template_id")
        return self


class ContextMemory(BaseModel):
    id: str
    text: str
    score: float
    topics: list[str]
    event_time: datetime
    metadata: dict[str, Any]


class ContextEvent(BaseModel):
    id: str
    session_id: str
    seq: int
    author: str
    role: str | None = None
    text: str
    timestamp: datetime
    score: float | None = Field(default=None, description="The search score (none for the session's recent turns).")


class ContextStep(BaseModel):
    instruction: str
    tool: str | None = None
    expected: str | None = None


class ContextProcedure(BaseModel):
    id: str
    name: str
    description: str
    kind: str
    steps: list[ContextStep]
    score: float


class ContextSections(BaseModel):
    """What the text was made from: every item kept, with its id (and score when searched)."""

    recent_events: list[ContextEvent]
    memories: list[ContextMemory]
    events: list[ContextEvent]
    procedures: list[ContextProcedure]


class ContextResponse(BaseModel):
    text: str
    token_estimate: int = Field(description="The text's estimated tokens (docs/context.md); at most max_tokens.")
    truncated: bool = Field(description="True when items were left out to fit max_tokens.")
    omitted: dict[str, int] = Field(description="Per section, how many items found were left out to fit the budget.")
    sections: ContextSections
    template: TemplateRef
    query: str | None = Field(description="The query the searches used (none: no search ran).")
    scope: dict[str, str]
