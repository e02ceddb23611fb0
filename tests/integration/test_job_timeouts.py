"""A Lambda timeout never leaves a job RUNNING: the worker's timeout guard and the stale-job sweeper (moto)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contextiq import deadline
from contextiq.definitions import EXTRACTION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker
from contextiq.ids import utcnow
from contextiq.models.jobs import Job, JobStatus
from contextiq.models.pipeline import ExtractionMessage, JobSpec
from contextiq.services.job_sweeper import STALE_AFTER, sweep_stale_jobs


@dataclass
class LambdaContext:
    millis: int
    function_name: str = "extraction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111122223333:function:extraction"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/extraction"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def new_job(container: Any, tenant: str, age: timedelta, status: JobStatus = JobStatus.RUNNING) -> str:
    when = utcnow() - age
    job = Job(
        id=f"job-{tenant}-{int(age.total_seconds())}",
        status=JobStatus.PENDING,
        scope={"u": "1"},
        create_time=when,
        update_time=when,
    )
    container.jobs.create(tenant, job, JobSpec(scope={"u": "1"}, session_id="s"))
    if status is not JobStatus.PENDING:
        container.jobs.mark_running(tenant, job.id, when)
    if status is JobStatus.FAILED:
        container.jobs.fail(tenant, job.id, "earlier failure", when)
    return job.id


def sqs_record(body: dict[str, Any], receive_count: int) -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1700000000000",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:extraction",
        "awsRegion": "us-east-1",
    }


def run_slow_worker(container: Any, job_id: str, receive_count: int) -> bool:
    """Invoke the worker with 3.4 s left; the work takes longer than the guard allows (it waits for it)."""
    fired = threading.Event()
    original_fail = container.jobs.fail

    def fail(*args: Any) -> Any:
        try:
            return original_fail(*args)
        finally:
            fired.set()  # after the write, so the test reads what the guard recorded

    container.jobs.fail = fail

    class SlowWorker:
        def handle(self, message: ExtractionMessage) -> str:
            fired.wait(timeout=2.0)  # a real invocation would be killed by Lambda around here
            return "done"

        def fail(self, tenant: str, job_id: str, reason: str) -> None:
            container.jobs.fail(tenant, job_id, reason, utcnow())

    handler = sqs_worker(EXTRACTION_QUEUE, ExtractionMessage, SlowWorker)
    event = {"Records": [sqs_record({"tenant": "tenant-a", "job_id": job_id}, receive_count)]}
    handler(event, LambdaContext(millis=3_400))  # type: ignore[arg-type]
    deadline.clear()
    return fired.is_set()


def test_the_timeout_guard_fails_the_job_on_its_last_delivery(container: Any) -> None:
    job_id = new_job(container, "tenant-a", timedelta(0))
    assert run_slow_worker(container, job_id, receive_count=EXTRACTION_QUEUE.max_receive_count)
    job = container.jobs.get("tenant-a", job_id).job
    assert job.status is JobStatus.FAILED
    assert "timed out" in (job.error or "") and "Lambda timeout" in (job.error or "")


def test_the_timeout_guard_leaves_an_earlier_delivery_to_the_retry(container: Any) -> None:
    job_id = new_job(container, "tenant-a", timedelta(0))
    assert not run_slow_worker(container, job_id, receive_count=1)
    assert container.jobs.get("tenant-a", job_id).job.status is JobStatus.RUNNING


def test_the_sweeper_fails_stale_jobs_only(container: Any) -> None:
    stale = new_job(container, "tenant-a", STALE_AFTER + timedelta(minutes=5))
    stale_pending = new_job(container, "tenant-b", STALE_AFTER + timedelta(minutes=7), JobStatus.PENDING)
    fresh = new_job(container, "tenant-a", STALE_AFTER - timedelta(minutes=5))
    done = new_job(container, "tenant-b", STALE_AFTER + timedelta(hours=1), JobStatus.FAILED)

    assert sweep_stale_jobs(container.jobs) == {"examined": 2, "failed": 2}

    for tenant, job_id in (("tenant-a", stale), ("tenant-b", stale_pending)):
        job = container.jobs.get(tenant, job_id).job
        assert job.status is JobStatus.FAILED and "stale-job sweeper" in (job.error or "")
    assert container.jobs.get("tenant-a", fresh).job.status is JobStatus.RUNNING
    assert container.jobs.get("tenant-b", done).job.error == "earlier failure"  # finished jobs are left alone
    assert sweep_stale_jobs(container.jobs) == {"examined": 0, "failed": 0}  # idempotent


def test_the_sweeper_stops_before_its_own_timeout(container: Any) -> None:
    new_job(container, "tenant-a", STALE_AFTER + timedelta(minutes=5))
    assert sweep_stale_jobs(container.jobs, remaining=lambda: 1.0) == {"examined": 0, "failed": 0}


def test_stale_after_outlasts_every_legitimate_delivery() -> None:
    from contextiq.definitions import JOB_QUEUES

    longest = sum(q.max_receive_count * q.visibility_timeout_seconds for q in JOB_QUEUES)
    assert STALE_AFTER.total_seconds() > longest
