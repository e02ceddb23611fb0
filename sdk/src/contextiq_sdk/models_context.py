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
