"""Prompt templates: Jinja2 bodies with declared variables, every change an immutable version."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contextiq import limits
from contextiq.models.common import NON_BLANK, NON_BLANK_LINE, TRIM, Metadata, Request, TtlSeconds, json_size

# The names context assembly gives every render (docs/templates.md); a declared variable may not reuse one.
CONTEXT_NAMES = frozenset(
    {"memories", "events", "recent_events", "procedures", "query", "session", "scope", "now", "max_tokens"}
)

VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
# Trimmed after the checks with the one white-space set (models.common), so the schema's limits are exact:
# a name the document accepts is never refused as blank after a trim with another set.
TemplateName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_TEMPLATE_NAME_CHARS, pattern=NON_BLANK_LINE),
    TRIM,
]
TemplateDescription = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_TEMPLATE_DESCRIPTION_CHARS, pattern=NON_BLANK),
    TRIM,
]
TemplateBody = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_TEMPLATE_BODY_CHARS)]


def _check_default(value: Any) -> Any:
    if value is not None and json_size(value) > limits.MAX_TEMPLATE_DEFAULT_BYTES:
        raise ValueError(f"at most {limits.MAX_TEMPLATE_DEFAULT_BYTES} bytes of JSON allowed")
    return value


class TemplateVariable(Request):
    """A variable the body reads besides the context's. Missing at render: its ``default`` (null when
    none), or a 422 when ``required``."""

    name: VariableName
    required: bool = False
    default: Annotated[Any, AfterValidator(_check_default)] = None
    description: TemplateDescription | None = None

    @model_validator(mode="after")
    def _not_a_context_name(self) -> TemplateVariable:
        if self.name in CONTEXT_NAMES:
            raise ValueError(f"{self.name!r} is a context name ({', '.join(sorted(CONTEXT_NAMES))})")
        return self


def _unique(variables: list[TemplateVariable] | None) -> list[TemplateVariable] | None:
    if variables is not None:
        names = [v.name for v in variables]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"variable names must be unique: {', '.join(twice)}")
    return variables


_UNIQUE_NAMES = "Each variable's name at most once (JSON Schema cannot state it: a 422 names `variables`)."
Variables = Annotated[
    list[TemplateVariable],
    Field(max_length=limits.MAX_TEMPLATE_VARIABLES, description=_UNIQUE_NAMES),
    AfterValidator(_unique),
]


class TemplateCreate(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "support-agent",
                    "description": "Context for the support agent",
                    "body": "{% if memories %}Known about {{ customer }}:\n{{ memories | bullet_list('text') }}\n"
                    "{% endif %}",
                    "variables": [{"name": "customer", "default": "the customer"}],
                }
            ]
        },
    )

    name: TemplateName
    body: TemplateBody
    description: TemplateDescription | None = None
    variables: Variables = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: TtlSeconds | None = None


class TemplatePatch(Request):
    """The fields to replace; at least one. Each change makes a new version."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: TemplateName | None = None
    body: TemplateBody | None = None
    description: TemplateDescription | None = None
    variables: Annotated[
        list[TemplateVariable] | None,
        Field(max_length=limits.MAX_TEMPLATE_VARIABLES, description=_UNIQUE_NAMES),
        AfterValidator(_unique),
    ] = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _something(self) -> TemplatePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, body, description, variables, metadata")
        return self


class Template(BaseModel):
    """One version of a template (the latest, unless read with ``?version=N``)."""

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


class TemplateAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class TemplateVersion(Template):
    """An immutable version: the template as it was after the change, who made it and how."""

    action: TemplateAction
    actor: str


class TemplateRef(BaseModel):
    """The template a render used: its id and the version (``default`` is the built-in one)."""

    id: str
    version: int
