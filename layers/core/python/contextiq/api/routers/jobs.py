"""POST /v1/memories/generate and /v1/jobs: asynchronous memory generation."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contextiq.api.deps import IdempotencyKey, Services, Tenant
from contextiq.api.problems import problem_responses
from contextiq.api.responses import respond, stored
from contextiq.models.jobs import GenerateRequest, Job, JobAccepted, JobStatus

ERRORS = problem_responses(400, 403, 404, 409, 413, 422)
router = APIRouter(tags=["generation"], responses=ERRORS)


@router.post(
    "/v1/memories/generate",
    status_code=202,
    response_model=JobAccepted,
    summary="Generate memories from a session, events or facts (asynchronous)",
    description="Answers 202 with the job id. With `wait_seconds` (at most 25) it answers 200 with the "
    "finished job when the job ends in time, else 202 as usual.",
    responses={200: {"model": Job, "description": "the job ended within wait_seconds"}},
)
def generate(
    body: GenerateRequest, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        job = c.generation.submit(tenant, body)
        return stored(202, JobAccepted(job_id=job.id, status=job.status), {"Location": f"/v1/jobs/{job.id}"})

    accepted = respond(c, tenant, "POST /v1/memories/generate", idempotency_key, body, action)
    if body.wait_seconds > 0 and accepted.status_code == 202:
        import json

        job_id = json.loads(bytes(accepted.body))["job_id"]
        job = c.generation.wait(tenant, job_id, body.wait_seconds)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return JSONResponse(
                job.model_dump(mode="json"), status_code=200, headers={"Location": f"/v1/jobs/{job.id}"}
            )
    return accepted


@router.get("/v1/jobs/{job_id}", response_model=Job, summary="Get a generation job")
def get_job(job_id: str, tenant: Tenant, c: Services) -> Job:
    return c.generation.get(tenant, job_id)
