"""Prompt template and context assembly models, written over the schemas of ``docs/openapi.json`` like
:mod:`contextiq_sdk.models` (the drift test checks them field by field)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from contextiq_sdk.models import Page, Request, Response


class TemplateAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class TemplateVariable(Request):
    name: str
    required: bool = False
    default: Any = None
    description: str | None = None


class TemplateCreate(Request):
    name: str
    body: str
    description: str | None = None
    variables: list[TemplateVariable] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int | None = None


class TemplatePatch(Request):
    name: str | None = None
    body: str | None = None
    description: str | None = None
    variables: list[TemplateVariable] | None = None
    metadata: dict[str, Any] | None = None


class Template(Response):
    id: str
    name: str
    description: str | None = None
    body: str
    variables: list[TemplateVariable]
    metadata: dict[str, Any]
    create_time: datetime
    update_time: datetime
    expire_time: datetime | None = None
    version: int
    builtin: bool = False


class TemplateVersion(Template):
    action: TemplateAction
    actor: str


class TemplatePage(Page[Template]):
    pass


class TemplateVersionPage(Page[TemplateVersion]):
    pass


# --- context assembly --------------------------------------------------------------------------------


class ContextRequest(Request):
    session_id: str | None = None
    scope: dict[str, str] | None = None
    query: str | None = None
    max_tokens: int
    recent_events: int = 10
    memories: int = 10
    events: int = 5
    procedures: int = 3
    template_id: str | None = None
    template: str | None = None
    template_version: int | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class ContextMemory(Response):
    id: str
    text: str
    score: float
    topics: list[str]
    event_time: datetime
    metadata: dict[str, Any]


class ContextEvent(Response):
    id: str
    session_id: str
    seq: int
    author: str
    role: str | None = None
    text: str
    timestamp: datetime
    score: float | None = None


class ContextStep(Response):
    instruction: str
    tool: str | None = None
    expected: str | None = None


class ContextProcedure(Response):
    id: str
    name: str
    description: str
    kind: str
    steps: list[ContextStep]
    score: float


class ContextSections(Response):
    recent_events: list[ContextEvent]
    memories: list[ContextMemory]
    events: list[ContextEvent]
    procedures: list[ContextProcedure]


class TemplateRef(Response):
    id: str
    version: int


class ContextResponse(Response):
    """``text`` fits ``max_tokens`` (estimated); ``sections`` lists every item it was made from."""

    text: str
    token_estimate: int
    truncated: bool
    omitted: dict[str, int]
    sections: ContextSections
    template: TemplateRef
    query: str | None
    scope: dict[str, str]
