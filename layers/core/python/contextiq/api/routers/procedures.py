"""/v1/procedures: procedural memory (workflows and skills), revisions, feedback, search, learning."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from contextiq import limits
from contextiq.api.deps import Actor, IdempotencyKey, Limit, NextToken, Services, Tenant, etag, parse_if_match
from contextiq.api.markdown import MEDIA_TYPE, procedure_markdown
from contextiq.api.problems import problem_responses
from contextiq.api.responses import respond, stored
from contextiq.api.routers.memories import scope_from_query
from contextiq.models.common import Page
from contextiq.models.jobs import Job, JobAccepted, JobStatus
from contextiq.models.procedures import (
    Feedback,
    Procedure,
    ProcedureCreate,
    ProcedureKind,
    ProcedurePatch,
    ProcedureRevision,
    ProcedureSearchRequest,
    ProcedureSearchResponse,
    ProcedureStatus,
)
from contextiq.models.trajectories import ProcedureGenerateRequest

ERRORS = problem_responses(400, 403, 404, 409, 412, 413, 422)
router = APIRouter(prefix="/v1/procedures", tags=["procedures"], responses=ERRORS)
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the version ETag, e.g. "3"')]


@router.post("", status_code=201, response_model=Procedure, summary="Create a procedure (workflow or skill)")
def create_procedure(
    body: ProcedureCreate, tenant: Tenant, actor: Actor, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        p = c.procedures.create(tenant, body, actor)
        return stored(201, p, {"ETag": etag(p.version), "Location": f"/v1/procedures/{p.id}"})

    return respond(c, tenant, "POST /v1/procedures", idempotency_key, body, action)


@router.get(
    "",
    response_model=Page[Procedure],
    summary="List the procedures of one scope",
    description="The scope is given as `scope.<key>=<value>` query parameters; all keys = the exact scope.",
)
def list_procedures(
    request: Request,
    tenant: Tenant,
    c: Services,
    kind: Annotated[ProcedureKind | None, Query()] = None,
    status: Annotated[ProcedureStatus | None, Query()] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Procedure]:
    items, token = c.procedures.list_scope(
        tenant,
        scope_from_query(request),
        kind.value if kind else None,
        status.value if status else None,
        limit,
        next_token,
    )
    return Page[Procedure](items=items, next_token=token)


@router.post(
    "/search",
    response_model=ProcedureSearchResponse,
    summary="Find the procedures for a task",
    description="Hybrid relevance on name, description and steps; among equally relevant procedures past "
    "success ranks higher. Deprecated procedures are left out unless `include_deprecated`.",
)
def search_procedures(body: ProcedureSearchRequest, tenant: Tenant, c: Services) -> ProcedureSearchResponse:
    return c.procedures.search(tenant, body)


@router.post(
    "/generate",
    status_code=202,
    response_model=JobAccepted,
    summary="Learn procedures from trajectories or a session (asynchronous)",
    description="Answers 202 with a job on /v1/jobs/{id}. With `wait_seconds` (at most 25) it answers 200 with "
    "the finished job when it ends in time.",
    responses={200: {"model": Job, "description": "the job ended within wait_seconds"}},
)
def generate_procedures(
    body: ProcedureGenerateRequest, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        job = c.procedure_jobs.submit(tenant, body)
        return stored(202, JobAccepted(job_id=job.id, status=job.status), {"Location": f"/v1/jobs/{job.id}"})

    accepted = respond(c, tenant, "POST /v1/procedures/generate", idempotency_key, body, action)
    if body.wait_seconds > 0 and accepted.status_code == 202:
        import json

        from contextiq.services.procedure_jobs import wait_for_job

        job_id = json.loads(bytes(accepted.body))["job_id"]
        job = wait_for_job(c.jobs, tenant, job_id, body.wait_seconds, time.sleep)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return JSONResponse(
                job.model_dump(mode="json"), status_code=200, headers={"Location": f"/v1/jobs/{job.id}"}
            )
    return accepted


@router.get(
    "/{procedure_id}",
    response_model=Procedure,
    summary="Get a procedure (JSON, or a Markdown skill document with Accept: text/markdown)",
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def get_procedure(
    procedure_id: str, tenant: Tenant, c: Services, request: Request, response: Response
) -> Response | Procedure:
    p = c.procedures.get(tenant, procedure_id)
    accept = request.headers.get("accept", "")
    if MEDIA_TYPE in accept and "application/json" not in accept.split(MEDIA_TYPE)[0]:
        return PlainTextResponse(
            procedure_markdown(p), media_type=MEDIA_TYPE, headers={"ETag": etag(p.version), "Vary": "Accept"}
        )
    response.headers["ETag"] = etag(p.version)
    response.headers["Vary"] = "Accept"
    return p


@router.patch("/{procedure_id}", response_model=Procedure, summary="Change a procedure (a new revision)")
def patch_procedure(
    procedure_id: str,
    body: ProcedurePatch,
    tenant: Tenant,
    actor: Actor,
    c: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Procedure:
    p = c.procedures.update(tenant, procedure_id, body, actor, parse_if_match(if_match))
    response.headers["ETag"] = etag(p.version)
    return p


@router.delete("/{procedure_id}", status_code=204, summary="Delete a procedure (its revisions stay readable)")
def delete_procedure(
    procedure_id: str, tenant: Tenant, actor: Actor, c: Services, if_match: IfMatch = None
) -> Response:
    c.procedures.delete(tenant, procedure_id, actor, parse_if_match(if_match))
    return Response(status_code=204)


@router.get("/{procedure_id}/revisions", response_model=Page[ProcedureRevision], summary="Every change of a procedure")
def list_procedure_revisions(
    procedure_id: str, tenant: Tenant, c: Services, limit: Limit = limits.MAX_PAGE_SIZE, next_token: NextToken = None
) -> Page[ProcedureRevision]:
    items, token = c.procedures.revisions(tenant, procedure_id, limit, next_token)
    return Page[ProcedureRevision](items=items, next_token=token)


@router.post(
    "/{procedure_id}/feedback",
    response_model=Procedure,
    summary="Report how using a procedure went",
    description=f"Counts the outcome atomically. Over the outcomes since the steps last changed, at least "
    f"{limits.DEPRECATION_MIN_USES} with a success rate below {limits.DEPRECATION_SUCCESS_RATE} deprecates the "
    "procedure (with a revision saying why); feedback that brings the rate back reactivates it.",
)
def procedure_feedback(
    procedure_id: str,
    body: Feedback,
    tenant: Tenant,
    actor: Actor,
    c: Services,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def action() -> dict:
        p = c.procedures.feedback(tenant, procedure_id, body, actor)
        return stored(200, p, {"ETag": etag(p.version)})

    return respond(c, tenant, f"POST /v1/procedures/{procedure_id}/feedback", idempotency_key, body, action)
