"""/v1/trajectories: what an agent did and how it ended (the material procedures are learned from)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant
from contextiq.api.responses import respond, stored
from contextiq.api.routers.memories import SCOPE_QUERY_PARAMETER, scope_from_query
from contextiq.models.common import Page
from contextiq.models.trajectories import (
    Trajectory,
    TrajectoryCreate,
    TrajectorySearchRequest,
    TrajectorySearchResponse,
)

router = APIRouter(prefix="/v1/trajectories", tags=["trajectories"])
LINKS = {
    "getTrajectory": {"trajectory_id": "$response.body#/id"},
    "deleteTrajectory": {"trajectory_id": "$response.body#/id"},
}


@router.post(
    "",
    response_model=Trajectory,
    **operation(
        "createTrajectory",
        "Record a trajectory (inline steps, or a session's events)",
        "What an agent did for a task and how it ended. From a session (`session_id`, optionally "
        "`after_seq` / `before_seq`), tool calls, tool results and agent text become steps that keep the "
        "ids of the events they came from. Another tenant's session is 404.",
        status_code=201,
        errors=(404, 409),
        body=True,
        headers=("Location", "Idempotent-Replayed"),
        links=LINKS,
    ),
)
def create_trajectory(
    body: TrajectoryCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        t = c.trajectories.create(tenant, body)
        return stored(201, t, {"Location": f"/v1/trajectories/{t.id}"})

    return respond(c, tenant, "POST /v1/trajectories", idempotency_key, body, action)


@router.get(
    "",
    response_model=Page[Trajectory],
    **operation(
        "listTrajectories",
        "List the trajectories of one scope",
        "The scope is given as `scope.<key>=<value>` query parameters (the exact scope); `outcome` filters.",
        extra_parameters=[SCOPE_QUERY_PARAMETER],
    ),
)
def list_trajectories(
    request: Request,
    tenant: Tenant,
    c: Services,
    outcome: Annotated[Literal["success", "failure", "partial"] | None, Query()] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Trajectory]:
    items, token = c.trajectories.list_scope(tenant, scope_from_query(request, "outcome"), outcome, limit, next_token)
    return Page[Trajectory](items=items, next_token=token)


@router.post(
    "/search",
    response_model=TrajectorySearchResponse,
    **operation(
        "searchTrajectories",
        "Find trajectories by task similarity",
        "Hybrid search on the task within one exact scope, optionally only one outcome, best first.",
        body=True,
    ),
)
def search_trajectories(body: TrajectorySearchRequest, tenant: Tenant, c: Services) -> TrajectorySearchResponse:
    return c.trajectories.search(tenant, body)


@router.get(
    "/{trajectory_id}",
    response_model=Trajectory,
    **operation("getTrajectory", "Get a trajectory", "The trajectory; expired ones are 404.", errors=(404,)),
)
def get_trajectory(trajectory_id: str, tenant: Tenant, c: Services) -> Trajectory:
    return c.trajectories.get(tenant, trajectory_id)


@router.delete(
    "/{trajectory_id}",
    **operation(
        "deleteTrajectory",
        "Delete a trajectory",
        "Removes it from reads, listings and search; procedures learned from it keep its id as provenance.",
        status_code=204,
        errors=(404,),
    ),
)
def delete_trajectory(trajectory_id: str, tenant: Tenant, c: Services) -> Response:
    c.trajectories.delete(tenant, trajectory_id)
    return Response(status_code=204)
