"""Generation policies: when memories form by themselves from a session's events (docs/generation-policies.md).

A policy is set per app (``PUT /v1/generation-policies/{app_name}``) and may be replaced for one session
(at create, or ``PATCH /v1/sessions/{id}``). It holds the triggers (``every_n_events``, ``idle_seconds``,
``on_session_delete``), the ``topics`` and ``examples`` a generate request takes (the same models), and
``scope_template``: how the memory scope is made from the session.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contextiq import limits
from contextiq.models.common import Name, Request, json_size
from contextiq.models.jobs import CustomTopic, Example, ManagedTopic

PLACEHOLDERS = ("user_id", "app_name", "session_id")
# Literal text (no '#', no braces, no control characters) and {user_id} / {app_name} / {session_id}.
TEMPLATE_PATTERN = r"^(?:[^{}#\x00-\x1f\x7f]|\{(?:user_id|app_name|session_id)\})+$"
_PLACEHOLDER = re.compile(r"\{(user_id|app_name|session_id)\}")

ScopeTemplateValue = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=TEMPLATE_PATTERN)
]
DEFAULT_SCOPE_TEMPLATE = {"user_id": "{user_id}"}


class ScopeTemplateError(ValueError):
    """The template cannot make a valid scope from this session (missing app_name, value too long)."""


def template_placeholders(template: dict[str, str]) -> set[str]:
    return {m.group(1) for value in template.values() for m in _PLACEHOLDER.finditer(value)}


def render_scope(template: dict[str, str], user_id: str, app_name: str | None, session_id: str) -> dict[str, str]:
    """The memory scope of a session; ScopeTemplateError when it cannot be a valid scope."""
    known = {"user_id": user_id, "app_name": app_name, "session_id": session_id}

    def value(match: re.Match[str]) -> str:
        got = known[match.group(1)]
        if got is None:
            raise ScopeTemplateError(f"scope_template uses {{{match.group(1)}}} but the session has none")
        return got

    scope = {key: _PLACEHOLDER.sub(value, raw) for key, raw in template.items()}
    for key, rendered in scope.items():
        if len(rendered) > limits.MAX_ID_LENGTH:
            raise ScopeTemplateError(
                f"scope_template.{key} renders to {len(rendered)} characters; scope values are at most "
                f"{limits.MAX_ID_LENGTH}"
            )
    return scope


class GenerationPolicy(Request):
    """When and how a session's events become memories without a generate call.

    Triggers: ``every_n_events`` (a job for each N new events), ``idle_seconds`` (one job for the events
    not yet generated once the session has had no append for that long), ``on_session_delete`` (a final
    job at DELETE). A policy with no trigger turns generation off (useful as a per-session override).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "every_n_events": 20,
                    "idle_seconds": 600,
                    "on_session_delete": True,
                    "topics": ["USER_PREFERENCES"],
                    "scope_template": {"user_id": "{user_id}", "app": "{app_name}"},
                }
            ]
        },
    )

    every_n_events: int | None = Field(
        default=None,
        ge=1,
        le=limits.MAX_POLICY_EVERY_N_EVENTS,
        description="Submit one job for each N events appended since the last generation.",
    )
    idle_seconds: int | None = Field(
        default=None,
        ge=limits.MIN_POLICY_IDLE_SECONDS,
        le=limits.MAX_POLICY_IDLE_SECONDS,
        description="Submit one job for the events not yet generated after this many seconds without an append.",
    )
    on_session_delete: bool = Field(
        default=False, description="DELETE of the session first submits a job for the events not yet generated."
    )
    topics: list[ManagedTopic | CustomTopic] | None = Field(default=None, max_length=16)
    examples: list[Example] | None = Field(default=None, max_length=10)
    scope_template: Annotated[
        dict[Name, ScopeTemplateValue],
        Field(min_length=limits.MIN_SCOPE_KEYS, max_length=limits.MAX_SCOPE_KEYS),
    ] = Field(
        default_factory=lambda: dict(DEFAULT_SCOPE_TEMPLATE),
        description="The memory scope made from the session: each value is literal text and the placeholders "
        '`{user_id}`, `{app_name}`, `{session_id}`. Default `{"user_id": "{user_id}"}` (the scope a '
        "generate request gives a session).",
    )

    @model_validator(mode="after")
    def _size(self) -> GenerationPolicy:
        size = json_size(self.model_dump(mode="json", exclude_none=True))
        if size > limits.MAX_POLICY_BYTES:
            raise ValueError(f"a policy is at most {limits.MAX_POLICY_BYTES} bytes of JSON (this one is {size})")
        return self

    @property
    def has_trigger(self) -> bool:
        return bool(self.every_n_events or self.idle_seconds or self.on_session_delete)


class AppPolicy(GenerationPolicy):
    """An app's policy (``PUT /v1/generation-policies/{app_name}``): the generation policy of the app's
    sessions and, for the app as a whole, whether its turns are indexed for event search and recall."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"every_n_events": 20, "idle_seconds": 600, "scope_template": {"user_id": "{user_id}"}},
                {"index_events": False},
            ]
        },
    )

    index_events: bool = Field(
        default=True,
        description="Index the turns of this app's sessions for event search and recall. `false` stops indexing "
        'them and removes the ones already indexed (docs/search.md, "Opting out"); a session\'s own policy '
        "does not change it.",
    )


class AppGenerationPolicy(AppPolicy):
    """A stored app policy, as read back."""

    model_config = ConfigDict(extra="ignore")

    app_name: str
    create_time: datetime
    update_time: datetime
    version: int


class SessionPatch(Request):
    """Session fields a client may change besides its state (``PATCH /v1/sessions/{id}``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"generation_policy": {"every_n_events": 10}}]}
    )

    generation_policy: GenerationPolicy | None = Field(
        description="This session's own policy, replacing its app's (a policy without triggers turns generation "
        "off); `null` removes it, so the app's policy applies again."
    )


def stored_policy(raw: str | None) -> GenerationPolicy | None:
    """A policy as stored (JSON text); None when absent."""
    return GenerationPolicy.model_validate_json(raw) if raw else None


def policy_json(policy: GenerationPolicy | None) -> str | None:
    return policy.model_dump_json(exclude_none=True) if policy is not None else None


def app_policy_indexes_events(raw: str | None) -> bool:
    """Whether a stored app policy (JSON text) lets the app's turns be indexed (absent: yes)."""
    return bool(json.loads(raw).get("index_events", True)) if raw else True


def describe_policy(policy: BaseModel) -> dict[str, Any]:
    return policy.model_dump(mode="json", exclude_none=True)
