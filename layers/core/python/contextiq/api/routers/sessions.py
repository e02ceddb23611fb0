"""/v1/sessions: sessions, their events and their state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant, etag, parse_if_match
from contextiq.api.problems import problem_responses
from contextiq.api.responses import respond, stored
from contextiq.models.common import Name, Page
from contextiq.models.sessions import Event, EventCreate, Session, SessionCreate, StatePatch

ERRORS = problem_responses(400, 403, 404, 409, 413, 422)
router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=ERRORS)


@router.post("", status_code=201, response_model=Session, summary="Create a session")
def create_session(
    body: SessionCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        session = c.sessions.create(tenant, body)
        return stored(201, session, {"ETag": etag(session.version), "Location": f"/v1/sessions/{session.id}"})

    return respond(c, tenant, "POST /v1/sessions", idempotency_key, body, action)


@router.get("", response_model=Page[Session], summary="List a user's sessions")
def list_sessions(
    tenant: Tenant,
    c: Services,
    user_id: Annotated[Name, Query(description="whose sessions (required: listings are per user)")],
    app_name: Annotated[Name | None, Query()] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Session]:
    items, token = c.sessions.list_sessions(tenant, user_id, app_name, limit, next_token)
    return Page[Session](items=items, next_token=token)


@router.get("/{session_id}", response_model=Session, summary="Get a session")
def get_session(session_id: str, tenant: Tenant, c: Services, response: Response) -> Session:
    session = c.sessions.get(tenant, session_id)
    response.headers["ETag"] = etag(session.version)
    return session


@router.delete("/{session_id}", status_code=204, summary="Delete a session and its events")
def delete_session(session_id: str, tenant: Tenant, c: Services) -> Response:
    c.sessions.delete(tenant, session_id)
    return Response(status_code=204)


@router.post("/{session_id}/events", status_code=201, response_model=Event, summary="Append an event")
def append_event(
    session_id: str, body: EventCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        event = c.sessions.append_event(tenant, session_id, body)
        return stored(201, event, {"Location": f"/v1/sessions/{session_id}/events?after_seq={event.seq - 1}"})

    return respond(c, tenant, f"POST /v1/sessions/{session_id}/events", idempotency_key, body, action)


@router.get("/{session_id}/events", response_model=Page[Event], summary="List events in seq order")
def list_events(
    session_id: str,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
    after_seq: Annotated[int, Query(ge=0, description="only events with seq > after_seq")] = 0,
) -> Page[Event]:
    items, token = c.sessions.list_events(tenant, session_id, after_seq, limit, next_token)
    return Page[Event](items=items, next_token=token)


@router.patch(
    "/{session_id}/state",
    response_model=Session,
    summary="Set and remove state keys",
    responses=problem_responses(412),
)
def patch_state(
    session_id: str,
    body: StatePatch,
    tenant: Tenant,
    c: Services,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", description='the version ETag, e.g. "3"')] = None,
) -> Session:
    session = c.sessions.patch_state(tenant, session_id, body, parse_if_match(if_match))
    response.headers["ETag"] = etag(session.version)
    return session
