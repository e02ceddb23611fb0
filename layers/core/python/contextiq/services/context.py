"""Context assembly (POST /v1/context): the session, long-term memory and procedures, fitted to a budget and
rendered through a template. Method and trim order: docs/context.md.

1. Read the session once (its item, then its last ``recent_events`` events by seq) and, meanwhile, the
   template. ``scope`` defaults to ``{user_id}`` of the session, ``query`` to its last user turn.
2. Embed the query once and run the memory, event and procedure searches in parallel with that vector.
   Search hits that are one of the recent turns, or that a kept memory already carries in its provenance
   (as in services/recall.py), are dropped.
3. Render with everything. Over budget: drop whole items in the trim order (``trim_order``) and render
   again, searching the smallest number of drops that fits (each candidate render is checked, so the
   answer always fits even when a template makes the size non-monotonic). Nothing is cut in half.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from contextiq.errors import FieldProblem, InvalidInputError, NotFoundError
from contextiq.ids import utcnow
from contextiq.models.context import (
    ContextEvent,
    ContextMemory,
    ContextProcedure,
    ContextRequest,
    ContextResponse,
    ContextSections,
    ContextStep,
)
from contextiq.models.procedures import ProcedureSearchRequest
from contextiq.models.sessions import Event, Session
from contextiq.models.templates import CONTEXT_NAMES, TemplateRef, TemplateVariable
from contextiq.observability import count, timed
from contextiq.services.episodes import EpisodeService, EventQuery
from contextiq.services.memories import MemoryService
from contextiq.services.procedures import ProcedureService
from contextiq.services.recall import pool_size
from contextiq.services.templates import RENDER_LIMITS, Resolved, TemplateService, check_body
from contextiq.stores.vector.documents import event_text
from contextiq.templating.engine import Budget, TemplateInvalidError
from contextiq.templating.tokens import estimate_tokens

INLINE_TEMPLATE_ID = "inline"
SECTIONS = ("recent_events", "memories", "events", "procedures")
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="context")


class SessionReader(Protocol):
    def get(self, tenant: str, session_id: str, *, now: datetime) -> Session | None: ...
    def list_events(
        self, tenant: str, session_id: str, after_seq: int, limit: int, token: str | None
    ) -> tuple[list[Event], str | None]: ...


@dataclass
class Found:
    """Each section's items, in the order the template sees them, as dicts (what templates read)."""

    recent_events: list[dict[str, Any]] = field(default_factory=list)
    memories: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)

    def section(self, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = getattr(self, name)
        return items


def trim_order(found: Found) -> list[tuple[str, str]]:
    """(section, item id) in the order items are dropped to fit the budget (docs/context.md):
    search hits on earlier turns, lowest score first; then the session's turns, oldest first; then
    procedures and last memories, lowest score first."""
    order = [("events", e["id"]) for e in reversed(found.events)]
    order += [("recent_events", e["id"]) for e in found.recent_events]
    order += [("procedures", p["id"]) for p in reversed(found.procedures)]
    order += [("memories", m["id"]) for m in reversed(found.memories)]
    return order


def without(found: Found, dropped: Sequence[tuple[str, str]]) -> Found:
    gone = set(dropped)
    kept = {name: [i for i in found.section(name) if (name, i["id"]) not in gone] for name in SECTIONS}
    return Found(**kept)


def event_item(e: Event, score: float | None = None) -> dict[str, Any]:
    item = {
        "id": e.id, "session_id": e.session_id, "seq": e.seq, "author": e.author, "role": e.role,
        "text": event_text(e), "timestamp": e.timestamp,
    }  # fmt: skip
    if score is not None:
        item["score"] = round(score, 6)
    return item


def is_user_turn(e: Event) -> bool:
    return (e.role or e.author).lower() == "user" and bool(event_text(e))


class ContextService:
    def __init__(
        self,
        sessions: SessionReader,
        memories: MemoryService,
        episodes: EpisodeService,
        procedures: ProcedureService,
        templates: TemplateService,
        clock: Callable[[], datetime] = utcnow,
        pool: ThreadPoolExecutor = _POOL,
    ) -> None:
        self._sessions = sessions
        self._memories = memories
        self._episodes = episodes
        self._procedures = procedures
        self._templates = templates
        self._clock = clock
        self._pool = pool

    # -- gathering ------------------------------------------------------------------------------

    def _session(self, tenant: str, req: ContextRequest) -> tuple[Session | None, list[Event], Event | None]:
        """The session, its last ``recent_events`` turns, and its last user turn (within 20 turns)."""
        if req.session_id is None:
            return None, [], None
        session = self._sessions.get(tenant, req.session_id, now=self._clock())
        if session is None:
            raise NotFoundError(f"session {req.session_id} not found")
        window = max(req.recent_events, 0 if req.query else 20)
        tail: list[Event] = []
        if window and session.event_count:
            after = max(0, session.event_count - window)
            tail, _ = self._sessions.list_events(tenant, session.id, after, window, None)
        last_user = next((e for e in reversed(tail) if is_user_turn(e)), None)
        recent = tail[len(tail) - req.recent_events :] if req.recent_events else []
        return session, recent, last_user

    def _template(self, tenant: str, req: ContextRequest) -> Resolved:
        if req.template is not None:
            variables = [TemplateVariable(name=k) for k in req.variables if k not in CONTEXT_NAMES]
            check_body(self._templates.engine, req.template, variables, "template")
            return Resolved(INLINE_TEMPLATE_ID, 0, req.template, variables)
        return self._templates.resolve(tenant, req.template_id, req.template_version)

    def _search(
        self, tenant: str, req: ContextRequest, scope: dict[str, str], query: str, recent: list[Event]
    ) -> Found:
        vector = self._episodes.embed_query(query)
        jobs: dict[str, Future[Any]] = {}
        if req.memories:
            jobs["memories"] = self._pool.submit(self._memories.find, tenant, scope, query, req.memories, vector=vector)
        user_id = scope.get("user_id")
        if req.events and user_id is not None:
            q = EventQuery(user_id, query, pool_size(req.events) + len(recent), "hybrid", scope.get("app_name"))
            jobs["events"] = self._pool.submit(self._episodes.query, tenant, q, vector)
        if req.procedures:
            preq = ProcedureSearchRequest(scope=scope, query=query, top_k=req.procedures)
            jobs["procedures"] = self._pool.submit(self._procedures.search, tenant, preq, vector)
        found = Found()
        if "memories" in jobs:
            found.memories = [
                {"id": m.id, "text": m.fact, "score": round(s, 6), "topics": m.topics,
                 "event_time": m.event_time, "metadata": m.metadata}
                for m, s in jobs["memories"].result()
            ]  # fmt: skip
        covered = {e.id for e in recent}
        if "memories" in jobs:
            for m, _ in jobs["memories"].result():
                covered.update(m.source.event_ids if m.source else ())
        if "events" in jobs:
            hits = [(e, s) for e, s in jobs["events"].result() if e.id not in covered]
            found.events = [event_item(e, s) for e, s in hits[: req.events]]
        if "procedures" in jobs:
            found.procedures = [
                {"id": r.procedure.id, "name": r.procedure.name, "description": r.procedure.description,
                 "kind": r.procedure.kind.value, "score": r.score,
                 "steps": [{"instruction": s.instruction, "tool": s.tool, "expected": s.expected}
                           for s in r.procedure.steps]}
                for r in jobs["procedures"].result().results
            ]  # fmt: skip
        return found

    # -- rendering --------------------------------------------------------------------------------

    def _variables(self, template: Resolved, given: dict[str, Any]) -> dict[str, Any]:
        declared = {v.name: v for v in template.variables}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise InvalidInputError(
                f"template {template.id} does not declare {', '.join(unknown)}",
                [FieldProblem(f"variables.{n}", "not declared by the template") for n in unknown],
            )
        missing = [v.name for v in template.variables if v.required and v.name not in given]
        if missing:
            raise InvalidInputError(
                f"template {template.id} requires {', '.join(missing)}",
                [FieldProblem(f"variables.{n}", "required by the template") for n in missing],
            )
        return {name: given.get(name, v.default) for name, v in declared.items()}

    def assemble(self, tenant: str, req: ContextRequest) -> ContextResponse:
        with timed("ContextLatency"):
            template_job = self._pool.submit(self._template, tenant, req)
            session, recent, last_user = self._session(tenant, req)
            scope = req.scope or {"user_id": session.user_id}  # type: ignore[union-attr]  # one is given
            query = req.query or (event_text(last_user) if last_user else None)
            found = Found(recent_events=[event_item(e) for e in recent])
            if query:
                searched = self._search(tenant, req, scope, query[:2000], recent)
                found.memories, found.events, found.procedures = searched.memories, searched.events, searched.procedures
            template = template_job.result()
            context = {
                "query": query, "scope": scope, "now": self._clock(), "max_tokens": req.max_tokens,
                "session": None if session is None else {
                    "id": session.id, "user_id": session.user_id, "app_name": session.app_name,
                    "state": session.state, "metadata": session.metadata,
                },
                **self._variables(template, req.variables),
            }  # fmt: skip
            kept, text, tokens = self._fit(template, found, context, req.max_tokens)
        omitted = {name: len(found.section(name)) - len(kept.section(name)) for name in SECTIONS}
        count("ContextsAssembled")
        return ContextResponse(
            text=text,
            token_estimate=tokens,
            truncated=any(omitted.values()),
            omitted=omitted,
            sections=sections(kept),
            template=TemplateRef(id=template.id, version=template.version),
            query=query,
            scope=scope,
        )

    def _fit(
        self, template: Resolved, found: Found, context: dict[str, Any], max_tokens: int
    ) -> tuple[Found, str, int]:
        budget = Budget(RENDER_LIMITS)
        field = "template" if template.id == INLINE_TEMPLATE_ID else "template_id"

        def render(items: Found) -> tuple[str, int]:
            data = {**context, **{name: items.section(name) for name in SECTIONS}}
            try:
                text = self._templates.engine.render(template.body, data, budget)
            except TemplateInvalidError as err:
                raise InvalidInputError(
                    f"template {template.id} v{template.version} failed to render: {err}",
                    [FieldProblem(field, str(err))],
                ) from None
            return text, estimate_tokens(text)

        text, tokens = render(found)
        if tokens <= max_tokens:
            return found, text, tokens
        order = trim_order(found)
        smallest = without(found, order)
        text, tokens = render(smallest)
        if tokens > max_tokens:
            raise InvalidInputError(
                f"max_tokens is too small: the template's text alone is {tokens} estimated tokens",
                [FieldProblem("max_tokens", f"at least {tokens} for this template")],
            )
        best, low, high = (smallest, text, tokens), 0, len(order)  # render(drop low) is over; drop high fits
        while high - low > 1:
            mid = (low + high) // 2
            candidate = without(found, order[:mid])
            text, tokens = render(candidate)
            if tokens <= max_tokens:
                best, high = (candidate, text, tokens), mid
            else:
                low = mid
        return best


def sections(found: Found) -> ContextSections:
    return ContextSections(
        recent_events=[ContextEvent(**e) for e in found.recent_events],
        memories=[ContextMemory(**m) for m in found.memories],
        events=[ContextEvent(**e) for e in found.events],
        procedures=[
            ContextProcedure(**{**p, "steps": [ContextStep(**s) for s in p["steps"]]}) for p in found.procedures
        ],
    )
