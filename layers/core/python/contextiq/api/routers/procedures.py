"""/v1/procedures: procedural memory (workflows and skills), revisions, feedback, search, learning."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import (
    Actor,
    IdempotencyKey,
    IfMatch,
    Limit,
    NextToken,
    Services,
    Tenant,
    etag,
    parse_if_match,
)
from contextiq.api.markdown import MEDIA_TYPE, procedure_markdown
from contextiq.api.responses import respond, stored
from contextiq.api.routers.memories import SCOPE_QUERY_PARAMETER, scope_from_query
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

router = APIRouter(prefix="/v1/procedures", tags=["procedures"])
PROCEDURE_LINKS = {
    "getProcedure": {"procedure_id": "$response.body#/id"},
    "updateProcedure": {"procedure_id": "$response.body#/id"},
    "deleteProcedure": {"procedure_id": "$response.body#/id"},
    "listProcedureRevisions": {"procedure_id": "$response.body#/id"},
    "reportProcedureFeedback": {"procedure_id": "$response.body#/id"},
}


@router.post(
    "",
    response_model=Procedure,
    **operation(
        "createProcedure",
        "Create a procedure (workflow or skill)",
        "Stores typed steps (`instruction`, `tool`, `arguments`, `expected`), parameters and a description "
        "that says when to use it; answers with `status: active` and empty `stats` (`success_rate` null until "
        "first use). It is searchable when the call returns.",
        status_code=201,
        errors=(409,),
        body=True,
        headers=("ETag", "Location", "Idempotent-Replayed"),
        links=PROCEDURE_LINKS,
    ),
)
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
    **operation(
        "listProcedures",
        "List the procedures of one scope",
        "The scope is given as `scope.<key>=<value>` query parameters (the exact scope); `kind` and `status` "
        "filter. Pass `next_token` from a page, with the same query, to get the next one.",
        extra_parameters=[SCOPE_QUERY_PARAMETER],
    ),
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
        scope_from_query(request, "kind", "status"),
        kind.value if kind else None,
        status.value if status else None,
        limit,
        next_token,
    )
    return Page[Procedure](items=items, next_token=token)


@router.post(
    "/search",
    response_model=ProcedureSearchResponse,
    **operation(
        "searchProcedures",
        "Find the procedures for a task",
        "Hybrid relevance on name, description and steps; among about equally relevant procedures past "
        "success ranks higher. Deprecated procedures are left out unless `include_deprecated`; "
        "`min_success_rate` leaves out those below it and those never used.",
        body=True,
    ),
)
def search_procedures(body: ProcedureSearchRequest, tenant: Tenant, c: Services) -> ProcedureSearchResponse:
    return c.procedures.search(tenant, body)


@router.post(
    "/generate",
    response_model=JobAccepted,
    **operation(
        "generateProcedures",
        "Learn procedures from trajectories or a session (asynchronous)",
        "Successful runs are distilled into procedures and consolidated with the scope's (ADD / UPDATE / "
        "NOOP); failed runs add pitfall notes. Answers 202 with a job on `/v1/jobs/{job_id}`; with "
        "`wait_seconds` (at most 25) 200 with the finished job when it ends in time. Unknown trajectory ids "
        "(or another tenant's) are 404.",
        status_code=202,
        errors=(404, 409),
        body=True,
        headers=("Location", "Idempotent-Replayed"),
        links={"getJob": {"job_id": "$response.body#/job_id"}},
        responses={
            200: {
                "model": Job,
                "description": "The job ended within `wait_seconds`",
                "headers": {"Location": {"$ref": "#/components/headers/Location"}},
            }
        },
    ),
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
    **operation(
        "getProcedure",
        "Get a procedure (JSON, or a Markdown skill document)",
        "The procedure with its version (also in `ETag`). With `Accept: text/markdown` the answer is a "
        "portable skill document: front matter with name and description, then the numbered steps.",
        errors=(404,),
        headers=("ETag",),
        responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}},
    ),
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


@router.patch(
    "/{procedure_id}",
    response_model=Procedure,
    **operation(
        "updateProcedure",
        "Change a procedure (a new revision)",
        "Replaces the fields given; `status` deprecates or reactivates by hand. With `If-Match` only that "
        "version is changed (412 when stale). New steps restart the outcome window of the deprecation rule.",
        errors=(404, 409, 412),
        body=True,
        headers=("ETag",),
    ),
)
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


@router.delete(
    "/{procedure_id}",
    **operation(
        "deleteProcedure",
        "Delete a procedure",
        "Gone from reads, listings and search at once; its revisions stay readable. With `If-Match` only "
        "that version is deleted (412 when stale).",
        status_code=204,
        errors=(404, 409, 412),
    ),
)
def delete_procedure(
    procedure_id: str, tenant: Tenant, actor: Actor, c: Services, if_match: IfMatch = None
) -> Response:
    c.procedures.delete(tenant, procedure_id, actor, parse_if_match(if_match))
    return Response(status_code=204)


@router.get(
    "/{procedure_id}/revisions",
    response_model=Page[ProcedureRevision],
    **operation(
        "listProcedureRevisions",
        "List every change of a procedure, in order",
        "CREATED, UPDATED, DEPRECATED, REACTIVATED, PITFALL_ADDED and DELETED revisions with the content "
        "after the change, the reason, the actor and the provenance.",
        errors=(404,),
    ),
)
def list_procedure_revisions(
    procedure_id: str, tenant: Tenant, c: Services, limit: Limit = limits.MAX_PAGE_SIZE, next_token: NextToken = None
) -> Page[ProcedureRevision]:
    items, token = c.procedures.revisions(tenant, procedure_id, limit, next_token)
    return Page[ProcedureRevision](items=items, next_token=token)


@router.post(
    "/{procedure_id}/feedback",
    response_model=Procedure,
    **operation(
        "reportProcedureFeedback",
        "Report how using a procedure went",
        f"Counts the outcome atomically (also under concurrency). Over the outcomes since the steps last "
        f"changed, at least {limits.DEPRECATION_MIN_USES} with a success rate below "
        f"{limits.DEPRECATION_SUCCESS_RATE:.0%} deprecates the procedure (with a revision saying why); "
        "feedback that brings the rate back reactivates it.",
        errors=(404, 409),
        body=True,
        headers=("ETag", "Idempotent-Replayed"),
    ),
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
