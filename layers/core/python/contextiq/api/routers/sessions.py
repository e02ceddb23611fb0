"""/v1/sessions: sessions, their events and their state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IdempotencyKey, IfMatch, Limit, NextToken, Services, Tenant, etag, parse_if_match
from contextiq.api.responses import respond, stored
from contextiq.models.common import Name, Page
from contextiq.models.policies import SessionPatch
from contextiq.models.sessions import Event, EventCreate, Session, SessionCreate, StatePatch

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SESSION_LINKS = {
    "getSession": {"session_id": "$response.body#/id"},
    "appendEvent": {"session_id": "$response.body#/id"},
    "listEvents": {"session_id": "$response.body#/id"},
    "patchSessionState": {"session_id": "$response.body#/id"},
    "deleteSession": {"session_id": "$response.body#/id"},
}


@router.post(
    "",
    response_model=Session,
    **operation(
        "createSession",
        "Create a session",
        "Starts a session for `user_id` (optionally within `app_name`) with an initial `state`. "
        "`ttl_seconds` makes it expire (with its events).",
        status_code=201,
        errors=(409,),
        body=True,
        headers=("ETag", "Location", "Idempotent-Replayed"),
        links=SESSION_LINKS,
    ),
)
def create_session(
    body: SessionCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        session = c.sessions.create(tenant, body)
        return stored(201, session, {"ETag": etag(session.version), "Location": f"/v1/sessions/{session.id}"})

    return respond(c, tenant, "POST /v1/sessions", idempotency_key, body, action)


@router.get(
    "",
    response_model=Page[Session],
    **operation(
        "listSessions",
        "List a user's sessions",
        "The live sessions of one user (optionally of one app), oldest first within each app. "
        "Pass `next_token` from a page to get the next one, with the same `user_id` and `app_name`.",
    ),
)
def list_sessions(
    tenant: Tenant,
    c: Services,
    user_id: Annotated[Name, Query(description="whose sessions (required: listings are per user)")],
    app_name: Annotated[Name | None, Query(description="only this app's sessions")] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Session]:
    items, token = c.sessions.list_sessions(tenant, user_id, app_name, limit, next_token)
    return Page[Session](items=items, next_token=token)


@router.get(
    "/{session_id}",
    response_model=Session,
    **operation(
        "getSession",
        "Get a session",
        "The session with its current state and version (also in the `ETag` header).",
        errors=(404,),
        headers=("ETag",),
    ),
)
def get_session(session_id: str, tenant: Tenant, c: Services, response: Response) -> Session:
    session = c.sessions.get(tenant, session_id)
    response.headers["ETag"] = etag(session.version)
    return session


@router.delete(
    "/{session_id}",
    **operation(
        "deleteSession",
        "Delete a session and its events",
        "Readers see 404 at once; the events are removed before the answer. Memories generated from the session "
        "stay. With a generation policy's `on_session_delete`, a final job for the events not yet generated is "
        "submitted first (it carries them, so it runs after they are gone).",
        status_code=204,
        errors=(404,),
    ),
)
def delete_session(session_id: str, tenant: Tenant, c: Services) -> Response:
    c.policy_engine.before_delete(tenant, session_id)
    c.branches.sweep_abandoned_forks(tenant, session_id)  # its fork markers go with it: use them first
    c.sessions.delete(tenant, session_id)
    return Response(status_code=204)


@router.post(
    "/{session_id}/events",
    response_model=Event,
    **operation(
        "appendEvent",
        "Append an event",
        "Appends a turn (user or agent text, tool call parts) at the next `seq` (1, 2, 3... per session, "
        "also under concurrent appends). `state_delta` is merged into the session state atomically with "
        "the append (a `null` value removes the key).",
        status_code=201,
        errors=(404, 409),
        body=True,
        headers=("Location", "Idempotent-Replayed"),
    ),
)
def append_event(
    session_id: str, body: EventCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        event = c.sessions.append_event(tenant, session_id, body)
        return stored(201, event, {"Location": f"/v1/sessions/{session_id}/events?after_seq={event.seq - 1}"})

    return respond(c, tenant, f"POST /v1/sessions/{session_id}/events", idempotency_key, body, action)


@router.get(
    "/{session_id}/events",
    response_model=Page[Event],
    **operation(
        "listEvents",
        "List a session's events in seq order",
        "Events with `seq > after_seq`, in order. Pass `next_token` from a page (with the same `after_seq`) "
        "to get the next one.",
        errors=(404,),
    ),
)
def list_events(
    session_id: str,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
    after_seq: Annotated[int, Query(ge=0, le=limits.MAX_SEQ, description="only events with seq > after_seq")] = 0,
) -> Page[Event]:
    items, token = c.sessions.list_events(tenant, session_id, after_seq, limit, next_token)
    return Page[Event](items=items, next_token=token)


@router.patch(
    "/{session_id}/state",
    response_model=Session,
    **operation(
        "patchSessionState",
        "Set and remove state keys",
        "Sets the keys of `set` and removes those of `remove` (top level), atomically. With `If-Match` only "
        "onto that version (412 when stale); without it onto the latest version, retrying lost races.",
        errors=(404, 409, 412),
        body=True,
        headers=("ETag",),
    ),
)
def patch_state(
    session_id: str,
    body: StatePatch,
    tenant: Tenant,
    c: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Session:
    session = c.sessions.patch_state(tenant, session_id, body, parse_if_match(if_match))
    response.headers["ETag"] = etag(session.version)
    return session


@router.patch(
    "/{session_id}",
    response_model=Session,
    **operation(
        "patchSession",
        "Set or remove the session's own generation policy",
        "`generation_policy` replaces the app's policy for this session (a policy without triggers turns "
        "generation off); `null` removes it. With `If-Match` only onto that version (412 when stale).",
        errors=(404, 409, 412),
        body=True,
        headers=("ETag",),
    ),
)
def patch_session(
    session_id: str,
    body: SessionPatch,
    tenant: Tenant,
    c: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Session:
    session = c.generation_policies.set_session_policy(
        tenant, session_id, body.generation_policy, parse_if_match(if_match)
    )
    response.headers["ETag"] = etag(session.version)
    return session
