"""Procedure generation jobs on the existing jobs API: submit, and the learning worker.

Redelivery is harmless: a finished job ignores its message; a session is turned into a trajectory
whose id is derived from the job, so a replay finds it; the learner's ADDs use derived ids and its
UPDATEs / pitfalls are NOOP for runs a procedure already lists (services/procedure_learning.py);
the job's counts are recorded once (part 0 of a one-part job, with a condition).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import datetime

from contextiq.errors import ConflictError, FieldProblem, InvalidInputError, NotFoundError
from contextiq.ids import new_id, utcnow
from contextiq.models.jobs import Job, JobResult, JobStatus
from contextiq.models.memories import scope_key
from contextiq.models.pipeline import parse_message
from contextiq.models.trajectories import (
    Outcome,
    ProcedureGenerateRequest,
    ProcedureJobSpec,
    ProcedureLearningMessage,
    Trajectory,
    TrajectoryCreate,
)
from contextiq.observability import count, logger
from contextiq.services.procedure_learning import ProcedureLearner, derived_id
from contextiq.services.sessions import SessionService
from contextiq.services.trajectories import TrajectoryService
from contextiq.stores.dynamo.jobs import JobStore
from contextiq.stores.queues import MessageQueue


def learning_group(tenant: str, scope: dict[str, str]) -> str:
    """FIFO MessageGroupId: one learning writer per tenant + scope."""
    return hashlib.sha256(f"{tenant}|procedures|{scope_key(scope)}".encode()).hexdigest()


class ProcedureJobService:
    def __init__(
        self,
        jobs: JobStore,
        trajectories: TrajectoryService,
        sessions: SessionService,
        queue: MessageQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = jobs
        self._trajectories = trajectories
        self._sessions = sessions
        self._queue = queue
        self._clock = clock

    def submit(self, tenant: str, req: ProcedureGenerateRequest) -> Job:
        """Check the sources exist for this tenant (404 otherwise), store the job, queue it."""
        if req.session_id is not None:
            self._sessions.get(tenant, req.session_id)
        else:
            found = self._trajectories.get_many(tenant, req.trajectory_ids or [])
            missing = [i for i in req.trajectory_ids or [] if i not in found]
            if missing:
                raise NotFoundError(
                    f"trajectories not found: {', '.join(missing[:10])}",
                    [FieldProblem("trajectory_ids", f"unknown ids: {', '.join(missing[:10])}")],
                )
            other = [t.id for t in found.values() if t.scope != req.scope]
            if other:
                raise InvalidInputError(
                    "every trajectory must belong to the request's scope",
                    [FieldProblem("trajectory_ids", f"of another scope: {', '.join(other[:10])}")],
                )
        now = self._clock()
        job = Job(id=new_id(), status=JobStatus.PENDING, scope=req.scope, create_time=now, update_time=now)
        self._jobs.create(tenant, job, ProcedureJobSpec.of(req))
        message = ProcedureLearningMessage(tenant=tenant, job_id=job.id)
        self._queue.send(message, group_id=learning_group(tenant, req.scope), dedup_id=job.id)
        count("ProcedureJobsSubmitted")
        return job


class ProcedureLearningWorker:
    def __init__(
        self,
        jobs: JobStore,
        trajectories: TrajectoryService,
        learner: ProcedureLearner,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = jobs
        self._trajectories = trajectories
        self._learner = learner
        self._clock = clock

    def _runs(self, tenant: str, job_id: str, spec: ProcedureJobSpec) -> list[Trajectory]:
        if spec.trajectory_ids is not None:
            found = self._trajectories.get_many(tenant, spec.trajectory_ids)
            return [found[i] for i in spec.trajectory_ids if i in found]  # deleted since: skipped
        assert spec.session_id is not None
        trajectory_id = derived_id(job_id, -1)
        with contextlib.suppress(NotFoundError):
            return [self._trajectories.get(tenant, trajectory_id)]
        task, _ = self._trajectories.session_steps(tenant, spec.session_id, spec.after_seq, spec.before_seq)
        req = TrajectoryCreate(
            scope=spec.scope,
            task=spec.task or task or "(a session without a user turn)",
            session_id=spec.session_id,
            after_seq=spec.after_seq,
            before_seq=spec.before_seq,
            outcome=spec.outcome or Outcome(status="success"),
        )
        with contextlib.suppress(ConflictError):
            return [self._trajectories.create(tenant, req, trajectory_id=trajectory_id)]
        return [self._trajectories.get(tenant, trajectory_id)]

    def fail(self, tenant: str, job_id: str, reason: str) -> None:
        """Mark the job FAILED with ``reason`` (a message that keeps failing, or can never succeed)."""
        if self._jobs.fail(tenant, job_id, reason, self._clock()):
            count("JobsFailed")
            logger.warning("job failed", extra={"job_id": job_id, "reason": reason})

    def handle(self, message: ProcedureLearningMessage) -> str:
        tenant, job_id = message.tenant, message.job_id
        logger.thread_safe_append_keys(job_id=job_id)  # this invocation's thread only (issue 11, logs)
        stored = self._jobs.get(tenant, job_id)
        if stored is None:
            logger.warning("message for an unknown job dropped", extra={"job_id": job_id})
            return "unknown job: dropped"
        if stored.finished:
            return "already finished"
        now = self._clock()
        self._jobs.mark_running(tenant, job_id, now)
        spec = parse_message(ProcedureJobSpec, stored.spec_json)  # MalformedMessageError: the job fails at once
        runs = self._runs(tenant, job_id, spec)
        if self._jobs.set_parts(tenant, job_id, 1, len(runs), now) is None:
            return "job ended meanwhile"
        learned = self._learner.learn(tenant, spec.scope, runs, job_id)
        result = JobResult(
            added=learned.added,
            updated=learned.updated,
            unchanged=learned.unchanged,
            procedure_ids=learned.procedure_ids,
        )
        now = self._clock()
        if self._jobs.record_part(tenant, job_id, 0, result, now) is None:
            return "already counted"
        self._jobs.succeed_if_complete(tenant, job_id, now)
        return f"added {learned.added}, updated {learned.updated}, unchanged {learned.unchanged}"


def wait_for_job(jobs: JobStore, tenant: str, job_id: str, seconds: float, sleep: Callable[[float], None]) -> Job:
    """Poll until the job ends or ``seconds`` pass; return it either way (404 for an unknown job)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        stored = jobs.get(tenant, job_id)
        if stored is None:
            raise NotFoundError(f"job {job_id} not found")
        if stored.finished or time.monotonic() >= deadline:
            return stored.job
        sleep(min(0.25, max(0.0, deadline - time.monotonic())))
