"""/v1/events/search (episodes: what was said) and /v1/recall (memories + events, fused)."""

from __future__ import annotations

from fastapi import APIRouter

from contextiq.api.conventions import operation
from contextiq.api.deps import Services, Tenant
from contextiq.models.recall import EventSearchRequest, EventSearchResponse, RecallRequest, RecallResponse

router = APIRouter(tags=["recall"])


@router.post(
    "/v1/events/search",
    response_model=EventSearchResponse,
    **operation(
        "searchEvents",
        "Search what was said in a user's sessions",
        "Hybrid, semantic or keyword search over the text of the events of one user's sessions (optionally one "
        "app or one session), best first, optionally within an after/before window on the event timestamp. "
        "Events are indexed asynchronously from the sessions table's stream (seconds); events of deleted or "
        "expired sessions never appear.",
        body=True,
    ),
)
def search_events(body: EventSearchRequest, tenant: Tenant, c: Services) -> EventSearchResponse:
    return c.episodes.search(tenant, body)


@router.post(
    "/v1/recall",
    response_model=RecallResponse,
    **operation(
        "recall",
        "Recall memories and events for a scope, fused",
        "Searches the memories of the scope and the events of the sessions whose user_id (and app_name, when the "
        "scope has one) match it, fuses both by reciprocal rank fusion, and drops an event already carried by "
        "a returned memory's provenance. Date expressions in the query boost results in the window they name "
        "unless after/before are given (see docs/search.md).",
        body=True,
    ),
)
def recall(body: RecallRequest, tenant: Tenant, c: Services) -> RecallResponse:
    return c.recall.recall(tenant, body)
