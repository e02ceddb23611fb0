"""POST /v1/memories/generate and /v1/jobs: asynchronous memory generation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant
from contextiq.api.responses import run_once, stored, to_response
from contextiq.models.common import Page
from contextiq.models.jobs import GenerateRequest, Job, JobAccepted, JobStatus
from contextiq.services.idempotency import StoredResponse

router = APIRouter(tags=["generation"])


@router.post(
    "/v1/memories/generate",
    response_model=JobAccepted,
    **operation(
        "generateMemories",
        "Generate memories from a session, events or facts (asynchronous)",
        "Exactly one source: a stored session (`session_id`, optionally `after_seq`), direct `events`, or "
        "pre-extracted `facts`. Answers 202 with the job id (and its `Location`). With `wait_seconds` (at "
        "most 25) it answers 200 with the finished job when the job ends in time, else 202 as usual.",
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
def generate(
    body: GenerateRequest, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> StoredResponse:
        job = c.generation.submit(tenant, body)
        return stored(202, JobAccepted(job_id=job.id, status=job.status), {"Location": f"/v1/jobs/{job.id}"})

    result, replayed = run_once(c, tenant, "POST /v1/memories/generate", idempotency_key, body, action)
    if body.wait_seconds > 0 and result["status"] == 202:
        accepted = JobAccepted.model_validate(result["body"])  # this call's job, or the replayed one's
        job = c.generation.wait(tenant, accepted.job_id, body.wait_seconds)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return JSONResponse(
                job.model_dump(mode="json"), status_code=200, headers={"Location": f"/v1/jobs/{job.id}"}
            )
    return to_response(result, replayed)


@router.get(
    "/v1/jobs",
    response_model=Page[Job],
    **operation(
        "listJobs",
        "List a session's generation jobs",
        "The memory generation jobs that read `session_id`'s events, oldest first: those of generate requests "
        "and those its generation policy submitted (`trigger`). Listed until they expire, also after the "
        "session is deleted. Pass `next_token` from a page (with the same `session_id`) to get the next one.",
    ),
)
def list_jobs(
    tenant: Tenant,
    c: Services,
    session_id: Annotated[str, Query(min_length=1, max_length=64, description="whose jobs (required)")],
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Job]:
    items, token = c.jobs.list_by_session(tenant, session_id, limit, next_token)
    return Page[Job](items=items, next_token=token)


@router.get(
    "/v1/jobs/{job_id}",
    response_model=Job,
    **operation(
        "getJob",
        "Get a generation job",
        "PENDING, RUNNING, then SUCCEEDED (with counts of added/updated/deleted/unchanged memories and their "
        "ids) or FAILED (with the reason).",
        errors=(404,),
    ),
)
def get_job(job_id: str, tenant: Tenant, c: Services) -> Job:
    return c.generation.get(tenant, job_id)
