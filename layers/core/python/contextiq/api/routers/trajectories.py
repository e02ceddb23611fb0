"""/v1/trajectories: what an agent did and how it ended (the material procedures are learned from)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant
from contextiq.api.problems import problem_responses
from contextiq.api.responses import respond, stored
from contextiq.api.routers.memories import scope_from_query
from contextiq.models.common import Page
from contextiq.models.trajectories import (
    Trajectory,
    TrajectoryCreate,
    TrajectorySearchRequest,
    TrajectorySearchResponse,
)

ERRORS = problem_responses(400, 403, 404, 409, 413, 422)
router = APIRouter(prefix="/v1/trajectories", tags=["trajectories"], responses=ERRORS)


@router.post(
    "",
    status_code=201,
    response_model=Trajectory,
    summary="Record a trajectory (inline steps, or a session's events)",
    description="From a session, steps keep the ids of the events they came from (see docs/procedures.md).",
)
def create_trajectory(
    body: TrajectoryCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        t = c.trajectories.create(tenant, body)
        return stored(201, t, {"Location": f"/v1/trajectories/{t.id}"})

    return respond(c, tenant, "POST /v1/trajectories", idempotency_key, body, action)


@router.get("", response_model=Page[Trajectory], summary="List the trajectories of one scope")
def list_trajectories(
    request: Request,
    tenant: Tenant,
    c: Services,
    outcome: Annotated[Literal["success", "failure", "partial"] | None, Query()] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Trajectory]:
    items, token = c.trajectories.list_scope(tenant, scope_from_query(request), outcome, limit, next_token)
    return Page[Trajectory](items=items, next_token=token)


@router.post("/search", response_model=TrajectorySearchResponse, summary="Find trajectories by task similarity")
def search_trajectories(body: TrajectorySearchRequest, tenant: Tenant, c: Services) -> TrajectorySearchResponse:
    return c.trajectories.search(tenant, body)


@router.get("/{trajectory_id}", response_model=Trajectory, summary="Get a trajectory")
def get_trajectory(trajectory_id: str, tenant: Tenant, c: Services) -> Trajectory:
    return c.trajectories.get(tenant, trajectory_id)


@router.delete("/{trajectory_id}", status_code=204, summary="Delete a trajectory")
def delete_trajectory(trajectory_id: str, tenant: Tenant, c: Services) -> Response:
    c.trajectories.delete(tenant, trajectory_id)
    return Response(status_code=204)
