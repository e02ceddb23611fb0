"""Fail generation jobs that stopped making progress (a worker killed by its Lambda timeout or a crash).

The queue worker marks a job FAILED itself when a message fails on its last delivery, and its timeout
guard (``contextiq.deadline.TimeoutGuard``) does so shortly before the last delivery's Lambda timeout.
What neither can see (an out-of-memory kill, a message lost before it was sent) leaves a job PENDING or
RUNNING; the scheduled sweeper function fails those with a reason once they are older than the longest
time the pipeline can legitimately take.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from contextiq import deadline
from contextiq.definitions import JOB_QUEUES
from contextiq.ids import isoformat, utcnow
from contextiq.observability import count, logger
from contextiq.stores.dynamo.jobs import JobStore

#: A job's messages cross the extraction then the consolidation queue; each may be delivered
#: ``max_receive_count`` times, each delivery hidden for the visibility timeout. Beyond the sum of both,
#: plus a margin, no delivery of the job can still be running.
STALE_AFTER = timedelta(seconds=sum(q.max_receive_count * q.visibility_timeout_seconds for q in JOB_QUEUES) + 15 * 60)
#: Stop this long before the sweeper's own invocation ends; the next run picks up the rest.
RESERVE_SECONDS = 5.0


def sweep_stale_jobs(
    jobs: JobStore,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
    remaining: Callable[[], float | None] = deadline.remaining,
) -> dict[str, int]:
    """Mark every PENDING/RUNNING job not updated for ``stale_after`` FAILED, with the reason."""
    now = now or utcnow()
    examined = failed = 0
    for stored in jobs.iter_stale(now - stale_after):
        left = remaining()
        if left is not None and left < RESERVE_SECONDS:
            logger.warning("sweeper out of time; the next run continues", extra={"examined": examined})
            break
        examined += 1
        minutes = int(stale_after.total_seconds() // 60)
        reason = (
            f"timed out: no progress since {isoformat(stored.job.update_time)} (over {minutes} min); the worker "
            "was most likely stopped by its Lambda timeout or crashed (failed by the stale-job sweeper)"
        )
        if jobs.fail(stored.tenant, stored.job.id, reason, now):
            failed += 1
            count("JobsFailed")
            logger.warning("stale job failed", extra={"job_id": stored.job.id, "tenant": stored.tenant})
    return {"examined": examined, "failed": failed}
