"""Prompt templates: create, read (any version), change, delete, list; validation and the built-in default.

Every change writes a new immutable version (stores/dynamo/templates.py). A body is checked on save
(``TemplateEngine.check``: syntax, filters, variables, with the line) and rendered once with empty
sections, so a template that already breaks the render limits is refused when saved, not when used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from contextiq import limits
from contextiq.errors import (
    ConflictError,
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    VersionConflictError,
)
from contextiq.ids import new_id, utcnow
from contextiq.models.templates import (
    CONTEXT_NAMES,
    Template,
    TemplateAction,
    TemplateCreate,
    TemplatePatch,
    TemplateVariable,
    TemplateVersion,
)
from contextiq.observability import count
from contextiq.retry import Backoff, attempts
from contextiq.stores.dynamo.templates import StoredTemplate, expired
from contextiq.templating.engine import RenderLimits, TemplateEngine, TemplateInvalidError, TemplateLimitError

DEFAULT_TEMPLATE_ID = "default"
DEFAULT_BODY = """\
{% if memories %}## What you know about the user
{{ memories | bullet_list('text') }}

{% endif %}{% if procedures %}## Procedures that may apply
{% for p in procedures %}- {{ p.name }}: {{ p.description }}
{% for s in p.steps %}  {{ loop.index }}. {{ s.instruction }}
{% endfor %}{% endfor %}
{% endif %}{% if events %}## Related earlier conversation
{% for e in events %}- [{{ e.timestamp | datetime }}] {{ e.author }}: {{ e.text }}
{% endfor %}
{% endif %}{% if recent_events %}## Recent conversation
{% for e in recent_events %}{{ e.author }}: {{ e.text }}
{% endfor %}{% endif %}"""
DEFAULT_TEMPLATE = Template(
    id=DEFAULT_TEMPLATE_ID,
    name="ContextIQ default",
    description="Memories, procedures, related earlier turns and the recent conversation, in that order.",
    body=DEFAULT_BODY,
    variables=[],
    metadata={},
    create_time=datetime(2026, 12, 1, tzinfo=UTC),
    update_time=datetime(2026, 12, 1, tzinfo=UTC),
    version=1,
    builtin=True,
)
RENDER_LIMITS = RenderLimits(
    seconds=limits.TEMPLATE_RENDER_SECONDS,
    output_chars=limits.TEMPLATE_RENDER_CHARS,
    iterations=limits.TEMPLATE_RENDER_ITERATIONS,
)
EMPTY_CONTEXT: dict[str, Any] = {
    "memories": [],
    "events": [],
    "recent_events": [],
    "procedures": [],
    "query": "",
    "session": None,
    "scope": {},
    "now": datetime(2026, 1, 1, tzinfo=UTC),
    "max_tokens": limits.MAX_CONTEXT_TOKENS,
}


class TemplateRepository(Protocol):
    def create(self, tenant: str, version: TemplateVersion) -> None: ...
    def update(self, tenant: str, version: TemplateVersion, expected_version: int) -> None: ...
    def tombstone(self, tenant: str, version: TemplateVersion, expected_version: int, now: datetime) -> None: ...
    def get(self, tenant: str, template_id: str) -> StoredTemplate | None: ...
    def get_version(self, tenant: str, template_id: str, version: int) -> TemplateVersion | None: ...
    def list_all(
        self, tenant: str, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[Template], str | None]: ...
    def versions(
        self, tenant: str, template_id: str, limit: int, token: str | None
    ) -> tuple[list[TemplateVersion], str | None]: ...


@dataclass(frozen=True)
class Resolved:
    """What a render needs: the body, its declared variables, and the id/version to report."""

    id: str
    version: int
    body: str
    variables: list[TemplateVariable]


def check_body(engine: TemplateEngine, body: str, variables: Iterable[TemplateVariable], field: str) -> None:
    """422 naming ``field`` and the line when ``body`` cannot be used (see the module docstring)."""
    declared = {v.name: v.default for v in variables}
    try:
        engine.check(body, CONTEXT_NAMES | set(declared))
    except TemplateInvalidError as err:
        raise InvalidInputError(f"the template is not valid: {err}", [FieldProblem(field, str(err))]) from None
    try:
        engine.render(body, {**EMPTY_CONTEXT, **declared})
    except TemplateLimitError as err:
        raise InvalidInputError(
            f"the template goes over a render limit: {err}", [FieldProblem(field, str(err))]
        ) from None
    except TemplateInvalidError as err:
        if "sandbox" in err.message:
            raise InvalidInputError(f"the template is not valid: {err}", [FieldProblem(field, str(err))]) from None
        # other errors with empty sections (``memories[0]``...) need not happen with real ones


class TemplateService:
    MAX_ATTEMPTS = 8
    BACKOFF = Backoff(base=0.01, cap=0.2)

    def __init__(
        self,
        repo: TemplateRepository,
        engine: TemplateEngine,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self.engine = engine
        self._clock = clock
        self._sleep = sleep

    # -- reads ----------------------------------------------------------------------------------

    def _live(self, tenant: str, template_id: str) -> Template:
        stored = self._repo.get(tenant, template_id)
        if stored is None or stored.deleted or expired(stored.template, self._clock()):
            raise NotFoundError(f"template {template_id} not found")
        return stored.template

    def get(self, tenant: str, template_id: str, version: int | None = None) -> Template:
        if template_id == DEFAULT_TEMPLATE_ID:
            if version not in (None, DEFAULT_TEMPLATE.version):
                raise NotFoundError(f"the built-in template has only version {DEFAULT_TEMPLATE.version}")
            return DEFAULT_TEMPLATE
        latest = self._live(tenant, template_id)
        if version is None or version == latest.version:
            return latest
        found = self._repo.get_version(tenant, template_id, version) if version < latest.version else None
        if found is None or found.action == TemplateAction.DELETED:
            raise NotFoundError(f"template {template_id} has no version {version}")
        return Template.model_validate(found.model_dump(exclude={"action", "actor"}))

    def list_all(self, tenant: str, limit: int, token: str | None) -> tuple[list[Template], str | None]:
        return self._repo.list_all(tenant, limit, token, now=self._clock())

    def versions(
        self, tenant: str, template_id: str, limit: int, token: str | None
    ) -> tuple[list[TemplateVersion], str | None]:
        if template_id == DEFAULT_TEMPLATE_ID:
            only = TemplateVersion(**DEFAULT_TEMPLATE.model_dump(), action=TemplateAction.CREATED, actor="contextiq")
            return [only], None
        items, next_token = self._repo.versions(tenant, template_id, limit, token)
        if not items and token is None:
            raise NotFoundError(f"template {template_id} not found")
        now = self._clock()
        if items and expired(items[0], now):
            raise NotFoundError(f"template {template_id} not found")
        return items, next_token

    def resolve(self, tenant: str, template_id: str | None, version: int | None) -> Resolved:
        t = self.get(tenant, template_id or DEFAULT_TEMPLATE_ID, version)
        return Resolved(t.id, t.version, t.body, t.variables)

    # -- writes ---------------------------------------------------------------------------------

    def create(self, tenant: str, req: TemplateCreate, actor: str) -> Template:
        check_body(self.engine, req.body, req.variables, "body")
        now = self._clock()
        expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0) if req.ttl_seconds else None
        version = TemplateVersion(
            id=new_id(), name=req.name, description=req.description, body=req.body, variables=req.variables,
            metadata=req.metadata, create_time=now, update_time=now, expire_time=expire, version=1,
            action=TemplateAction.CREATED, actor=actor,
        )  # fmt: skip
        try:
            self._repo.create(tenant, version)
        except VersionConflictError as err:  # a new ULID cannot collide; kept for the protocol's sake
            raise ConflictError(f"template {version.id} already exists") from err
        count("TemplatesCreated")
        return _head(version)

    def _builtin(self, template_id: str) -> None:
        if template_id == DEFAULT_TEMPLATE_ID:
            raise ConflictError("the built-in template cannot be changed or deleted; create your own")

    def _stale(self, current: int, expected: int) -> PreconditionFailedError:
        return PreconditionFailedError(
            f"template is at version {current}, not {expected}",
            [FieldProblem("header.If-Match", f"stale: current version is {current}")],
        )

    def _change(
        self,
        tenant: str,
        template_id: str,
        if_match: int | None,
        make: Callable[[Template, datetime], TemplateVersion],
        write: Callable[[TemplateVersion, int, datetime], None],
    ) -> TemplateVersion:
        """Read, check If-Match, write the next version conditioned on the one read; retry lost races
        (without If-Match) or answer 412 (with it)."""
        self._builtin(template_id)
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            old = self._live(tenant, template_id)
            if if_match is not None and old.version != if_match:
                raise self._stale(old.version, if_match)
            now = self._clock()
            new = make(old, now)
            try:
                write(new, old.version, now)
            except VersionConflictError:
                if if_match is not None:
                    raise self._stale(old.version + 1, if_match) from None
                continue
            return new
        raise ConflictError("the template is under heavy concurrent writes; retry the request")

    def update(
        self, tenant: str, template_id: str, patch: TemplatePatch, actor: str, if_match: int | None = None
    ) -> Template:
        def make(old: Template, now: datetime) -> TemplateVersion:
            fields = {k: getattr(patch, k) for k in patch.model_fields_set}
            if "name" in fields and fields["name"] is None:
                raise InvalidInputError("name cannot be removed", [FieldProblem("name", "must be a string")])
            if "body" in fields and fields["body"] is None:
                raise InvalidInputError("body cannot be removed", [FieldProblem("body", "must be a string")])
            fields["variables"] = fields.get("variables") or ([] if "variables" in fields else old.variables)
            fields["metadata"] = fields.get("metadata") or ({} if "metadata" in fields else old.metadata)
            merged = old.model_copy(update={**fields, "update_time": now, "version": old.version + 1})
            if "body" in fields or "variables" in fields:
                check_body(self.engine, merged.body, merged.variables, "body" if "body" in fields else "variables")
            return TemplateVersion(**merged.model_dump(), action=TemplateAction.UPDATED, actor=actor)

        new = self._change(
            tenant, template_id, if_match, make, lambda v, expected, _now: self._repo.update(tenant, v, expected)
        )
        count("TemplatesUpdated")
        return _head(new)

    def delete(self, tenant: str, template_id: str, actor: str, if_match: int | None = None) -> None:
        def make(old: Template, now: datetime) -> TemplateVersion:
            gone = old.model_copy(update={"update_time": now, "version": old.version + 1})
            return TemplateVersion(**gone.model_dump(), action=TemplateAction.DELETED, actor=actor)

        self._change(tenant, template_id, if_match, make, lambda v, e, now: self._repo.tombstone(tenant, v, e, now))
        count("TemplatesDeleted")


def _head(version: TemplateVersion) -> Template:
    return Template.model_validate(version.model_dump(exclude={"action", "actor"}))
