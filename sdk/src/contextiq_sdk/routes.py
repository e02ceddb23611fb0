"""Every route the SDK calls, in one table: the clients build their requests from it and
``tests/clients/test_sdk_drift.py`` compares it with ``docs/openapi.json`` (paths, methods, query and
header parameters, request and response schemas), so the SDK and the document cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from contextiq_sdk import models as m

PAGE = ("limit", "next_token")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    responses: dict[int, type[BaseModel] | None]  # 2xx status -> model (None: no body)
    body: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    idempotency_key: bool = False  # POST that accepts Idempotency-Key: retried with the same key
    if_match: bool = False  # takes ``version=`` as If-Match
    read_only: bool = False  # a POST that changes nothing (search): safe to retry without a key
    extra_query: str | None = field(default=None)  # a documented free-form family, e.g. "scope.<key>"


ROUTES: dict[str, Route] = {
    "create_session": Route("POST", "/v1/sessions", {201: m.Session}, m.SessionCreate, idempotency_key=True),
    "list_sessions": Route("GET", "/v1/sessions", {200: m.Page[m.Session]}, query=("user_id", "app_name", *PAGE)),
    "get_session": Route("GET", "/v1/sessions/{session_id}", {200: m.Session}),
    "delete_session": Route("DELETE", "/v1/sessions/{session_id}", {204: None}),
    "patch_state": Route("PATCH", "/v1/sessions/{session_id}/state", {200: m.Session}, m.StatePatch, if_match=True),
    "append_event": Route(
        "POST", "/v1/sessions/{session_id}/events", {201: m.Event}, m.EventCreate, idempotency_key=True
    ),
    "list_events": Route("GET", "/v1/sessions/{session_id}/events", {200: m.Page[m.Event]}, query=(*PAGE, "after_seq")),
    "create_memory": Route("POST", "/v1/memories", {201: m.Memory}, m.MemoryCreate, idempotency_key=True),
    "list_memories": Route(
        "GET", "/v1/memories", {200: m.Page[m.Memory]}, query=("topic", *PAGE), extra_query="scope.<key>"
    ),
    "search_memories": Route("POST", "/v1/memories/search", {200: m.SearchResponse}, m.SearchRequest, read_only=True),
    "get_memory": Route("GET", "/v1/memories/{memory_id}", {200: m.Memory}),
    "patch_memory": Route("PATCH", "/v1/memories/{memory_id}", {200: m.Memory}, m.MemoryPatch, if_match=True),
    "delete_memory": Route("DELETE", "/v1/memories/{memory_id}", {204: None}, if_match=True),
    "list_revisions": Route("GET", "/v1/memories/{memory_id}/revisions", {200: m.Page[m.Revision]}, query=PAGE),
    "generate": Route(
        "POST",
        "/v1/memories/generate",
        {200: m.Job, 202: m.JobAccepted},
        m.GenerateRequest,
        idempotency_key=True,
    ),
    "get_job": Route("GET", "/v1/jobs/{job_id}", {200: m.Job}),
}
