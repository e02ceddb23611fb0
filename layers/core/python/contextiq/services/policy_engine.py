"""Generation policies at work: session changes (the sessions table's stream), idle checks (a delayed
queue) and session deletes become generation jobs, each window of events exactly once.

The single point of truth is the session's ``last_generated_seq``: a job for events ``(from, to]`` exists
only if the conditional claim that advanced it from ``from`` to ``to`` succeeded (``PolicyStore.claim``),
and the job id is derived from (tenant, session, ``to``), so a redelivered record or a rival claimer of the
same window names the same job and finds it made. See docs/generation-policies.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from ulid import ULID

from contextiq import limits
from contextiq.errors import NotFoundError
from contextiq.ids import utcnow
from contextiq.models.common import json_size
from contextiq.models.jobs import Job, JobStatus
from contextiq.models.pipeline import CarriedEvent, ExtractionMessage, IdleCheckMessage, JobSpec, PolicyTrigger
from contextiq.models.policies import AppGenerationPolicy, GenerationPolicy, ScopeTemplateError, render_scope
from contextiq.models.sessions import Event, Session
from contextiq.observability import count, logger
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.streams import SessionChange
from contextiq.stores.queues import MessageQueue

# SQS: "the maximum [DelaySeconds] is 15 minutes" (docs/generation-policies.md cites the page).
SQS_MAX_DELAY_SECONDS = 900
MAX_CLAIM_ROUNDS = 8  # re-reads after a lost claim (a rival advanced the session) before giving up


class PolicyRepository(Protocol):
    def get(self, tenant: str, app_name: str) -> AppGenerationPolicy | None: ...
    def claim(self, tenant: str, session_id: str, from_seq: int, to_seq: int, job: Job, spec: JobSpec) -> bool: ...
    def unqueued(self, tenant: str, job_id: str) -> bool: ...
    def mark_queued(self, tenant: str, job_id: str) -> None: ...


class DelayedQueue(Protocol):
    def send_delayed(self, message: IdleCheckMessage, delay_seconds: int) -> None: ...


class Outcome(StrEnum):
    SUBMITTED = "submitted"
    RESUMED = "resumed"  # the claim was made before (a redelivery); its job is now queued
    ALREADY = "already submitted"
    LOST = "lost"  # another claimer moved the session on: re-read


def policy_job_id(tenant: str, session: Session, to_seq: int) -> str:
    """The same ULID for the same (tenant, session, window end) every time; ordered by ``to_seq``."""
    millis = int(session.create_time.timestamp() * 1000) + to_seq
    digest = hashlib.blake2b(f"{tenant}|{session.id}|{to_seq}".encode(), digest_size=10).digest()
    return str(ULID(millis.to_bytes(6, "big") + digest))


class PolicyEngine:
    def __init__(
        self,
        policies: PolicyRepository,
        sessions: SessionService,
        extraction_queue: MessageQueue,
        idle_queue: DelayedQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._policies = policies
        self._sessions = sessions
        self._extraction = extraction_queue
        self._idle = idle_queue
        self._clock = clock

    def effective(self, tenant: str, session: Session) -> GenerationPolicy | None:
        """The session's own policy, else its app's, else none."""
        if session.generation_policy is not None:
            return session.generation_policy
        if session.app_name is None:
            return None
        return self._policies.get(tenant, session.app_name)

    # -- the three triggers ---------------------------------------------------------------------

    def on_session_change(self, change: SessionChange) -> str:
        """A session item changed (append, patch, claim): submit due every_n_events windows, arm idle."""
        if change.deleting:
            return "session deleted"
        session = change.session
        policy = self.effective(change.tenant, session)
        if policy is None or not policy.has_trigger:
            return "no policy"
        done: list[str] = []
        generated = session.last_generated_seq
        if policy.every_n_events:
            try:
                generated, submitted = self._every_n(change.tenant, session, policy, policy.every_n_events)
            except NotFoundError:
                return "session gone"
            done.append(f"{submitted} every_n_events jobs")
        if policy.idle_seconds and change.appended and session.event_count > generated:
            due = session.update_time + timedelta(seconds=policy.idle_seconds)
            self._arm(IdleCheckMessage(tenant=change.tenant, session_id=session.id, seq=session.event_count, due=due))
            done.append("idle check armed")
        return "; ".join(done) or "nothing due"

    def on_idle_check(self, message: IdleCheckMessage) -> str:
        """The delayed check of one append: if nothing was appended since and it is due, one job."""
        tenant = message.tenant
        try:
            session = self._sessions.get(tenant, message.session_id)
        except NotFoundError:
            return "session gone"
        if session.event_count != message.seq:
            return "appended since (that append armed its own check)"
        if self._clock() < message.due:
            self._arm(message)  # beyond SQS's longest delay: wait again
            return "re-armed"
        policy = self.effective(tenant, session)
        if policy is None or not policy.idle_seconds:
            return "no idle policy"
        for _ in range(MAX_CLAIM_ROUNDS):
            if session.last_generated_seq >= session.event_count:
                return "nothing to generate"
            outcome = self._submit(tenant, session, policy, session.event_count, "idle")
            if outcome != Outcome.LOST:
                return f"idle job {outcome}"
            session = self._sessions.get(tenant, message.session_id)
        raise RuntimeError("the session kept moving while the idle job was claimed; retry")

    def before_delete(self, tenant: str, session_id: str) -> int:
        """DELETE with ``on_session_delete``: claim the events not yet generated, carrying them in the jobs
        (the events are removed right after). Returns how many jobs were submitted."""
        session = self._sessions.get(tenant, session_id)
        policy = self.effective(tenant, session)
        if policy is None or not policy.on_session_delete:
            return 0
        submitted = 0
        for _ in range(MAX_CLAIM_ROUNDS):
            if session.last_generated_seq >= session.event_count:
                return submitted
            events = list(self._sessions.all_events(tenant, session_id, session.last_generated_seq))
            for window in self._windows_by_size(events[: session.event_count - session.last_generated_seq], policy):
                outcome = self._submit(tenant, session, policy, window[-1].seq, "session_delete", window)
                if outcome == Outcome.LOST:
                    break
                submitted += outcome != Outcome.ALREADY
                session = session.model_copy(update={"last_generated_seq": window[-1].seq})
            else:
                return submitted
            session = self._sessions.get(tenant, session_id)
        raise RuntimeError("the session kept moving while its final job was claimed; retry the DELETE")

    # -- claiming -------------------------------------------------------------------------------

    def _every_n(self, tenant: str, session: Session, policy: GenerationPolicy, n: int) -> tuple[int, int]:
        """Submit each full window of ``n`` events not yet generated; (generated seq, jobs submitted)."""
        submitted = 0
        for _ in range(limits.MAX_POLICY_JOBS_PER_RECORD):
            if session.event_count - session.last_generated_seq < n:
                break
            to_seq = session.last_generated_seq + n
            outcome = self._submit(tenant, session, policy, to_seq, "every_n_events")
            if outcome == Outcome.LOST:
                fresh = self._sessions.get(tenant, session.id)
                if fresh.last_generated_seq == session.last_generated_seq:
                    raise RuntimeError("claim lost without the session moving on; retry the record")
                session = fresh
                continue
            submitted += outcome in (Outcome.SUBMITTED, Outcome.RESUMED)
            session = session.model_copy(update={"last_generated_seq": to_seq})
        return session.last_generated_seq, submitted

    def _submit(
        self,
        tenant: str,
        session: Session,
        policy: GenerationPolicy,
        to_seq: int,
        trigger: PolicyTrigger,
        events: list[Event] | None = None,
    ) -> Outcome:
        from_seq = session.last_generated_seq
        now = self._clock()
        job_id = policy_job_id(tenant, session, to_seq)
        error = None
        try:
            scope = render_scope(policy.scope_template, session.user_id, session.app_name, session.id)
        except ScopeTemplateError as err:  # the job is made FAILED, so the user sees why nothing formed
            scope, error = {}, str(err)
        spec = JobSpec(
            scope=scope or {"session_id": session.id},
            session_id=session.id,
            after_seq=from_seq,
            until_seq=to_seq,
            topics=policy.topics,
            examples=policy.examples,
            session_events=[CarriedEvent.model_validate(e.model_dump()) for e in events] if events else None,
            trigger=trigger,
        )
        status = JobStatus.FAILED if error else JobStatus.PENDING
        job = Job(
            id=job_id,
            status=status,
            scope=scope,
            create_time=now,
            update_time=now,
            error=error,
            session_id=session.id,
            trigger=trigger,
        )
        if self._policies.claim(tenant, session.id, from_seq, to_seq, job, spec):
            count("PolicyJobsSubmitted")
            logger.info(
                "policy job submitted",
                extra={"job_id": job_id, "session_id": session.id, "trigger": trigger, "seqs": [from_seq, to_seq]},
            )
            if error is None:
                self._queue(tenant, job_id)
            return Outcome.SUBMITTED
        if self._policies.unqueued(tenant, job_id):  # claimed before, stopped before the queue: finish it
            self._queue(tenant, job_id)
            return Outcome.RESUMED
        fresh = self._sessions.get(tenant, session.id)
        return Outcome.ALREADY if fresh.last_generated_seq >= to_seq and fresh.last_job_id else Outcome.LOST

    def _queue(self, tenant: str, job_id: str) -> None:
        self._extraction.send(ExtractionMessage(tenant=tenant, job_id=job_id))
        self._policies.mark_queued(tenant, job_id)

    def _arm(self, message: IdleCheckMessage) -> None:
        wait = (message.due - self._clock()).total_seconds()
        self._idle.send_delayed(message, max(0, min(SQS_MAX_DELAY_SECONDS, math.ceil(wait))))

    @staticmethod
    def _windows_by_size(events: list[Event], policy: GenerationPolicy) -> list[list[Event]]:
        """The final events in consecutive windows whose job spec stays under MAX_JOB_SPEC_BYTES."""
        budget = limits.MAX_JOB_SPEC_BYTES - json_size(policy.model_dump(mode="json", exclude_none=True)) - 4096
        windows: list[list[Event]] = []
        current: list[Event] = []
        size = 0
        for event in events:
            weight = json_size(event.model_dump(mode="json"))
            if current and size + weight > budget:
                windows.append(current)
                current, size = [], 0
            current.append(event)
            size += weight
        if current:
            windows.append(current)
        return windows
