"""Memory generation: submit a job, extract candidate facts, consolidate them into a scope.

    POST /v1/memories/generate -> job PENDING -> extraction queue
    extraction worker: events -> chunks -> Extractor -> candidates -> FIFO consolidation queue, in parts
        (MessageGroupId = tenant + scope: one scope has one consolidating writer at a time)
    consolidation worker: per candidate, similar memories -> Decider -> ADD / UPDATE / DELETE / NOOP,
        written with revisions (actor = job:<id>, source = the events); counts the part; last part -> SUCCEEDED

Redelivery is harmless at every step: a finished job is left alone; parts are counted once (a set
of finished parts on the job); an ADD uses an id derived from (job, part, candidate), so a replayed
ADD finds its memory already there; a replayed UPDATE/DELETE is re-decided against the current
memories and comes out NOOP. Work that keeps failing marks the job FAILED on its last delivery,
then goes to the dead-letter queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from ulid import ULID

from contextiq import limits
from contextiq.ai.extractors.base import (
    MANAGED_TOPICS,
    Action,
    CandidateFact,
    Decider,
    ExistingMemory,
    Extractor,
    FewShotExample,
    Topic,
    Turn,
)
from contextiq.ai.extractors.speaker import name_in
from contextiq.errors import ConflictError, FieldProblem, NotFoundError, PayloadTooLargeError
from contextiq.ids import new_id, utcnow
from contextiq.models.jobs import CustomTopic, GenerateRequest, Job, JobResult, JobStatus
from contextiq.models.memories import MemoryCreate, MemoryPatch, Source, scope_key
from contextiq.models.pipeline import (
    PROVIDED_TOPIC,
    CandidateMessage,
    ConsolidationMessage,
    ExtractionMessage,
    JobSpec,
)
from contextiq.models.sessions import Event
from contextiq.observability import count, logger, timed
from contextiq.services.memories import MemoryService
from contextiq.services.scope_names import ScopeNames
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.jobs import StoredJob
from contextiq.stores.queues import MessageQueue
from contextiq.stores.vector.fusion import score_to_cosine


class JobRepository(Protocol):
    """Generation jobs and their progress (``stores.dynamo.jobs.JobStore``); None: its condition failed."""

    def create(self, tenant: str, job: Job, spec: JobSpec) -> None: ...
    def get(self, tenant: str, job_id: str) -> StoredJob | None: ...
    def mark_running(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None: ...
    def set_parts(
        self, tenant: str, job_id: str, parts_total: int, candidates: int, now: datetime
    ) -> StoredJob | None: ...
    def record_part(
        self, tenant: str, job_id: str, part: int, result: JobResult, now: datetime
    ) -> StoredJob | None: ...
    def succeed_if_complete(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None: ...
    def fail(self, tenant: str, job_id: str, reason: str, now: datetime) -> StoredJob | None: ...


def consolidation_group(tenant: str, scope: dict[str, str]) -> str:
    """FIFO MessageGroupId: one group per tenant + scope (at most 128 characters)."""
    return hashlib.sha256(f"{tenant}|{scope_key(scope)}".encode()).hexdigest()


def derived_memory_id(job_id: str, part: int, index: int) -> str:
    """A ULID that is the same every time one candidate of one job is added (replays find it)."""
    timestamp_ms = ULID.from_str(job_id).milliseconds
    digest = hashlib.blake2b(f"{job_id}|{part}|{index}".encode(), digest_size=10).digest()
    return str(ULID(timestamp_ms.to_bytes(6, "big") + digest))


def event_text(event: Event) -> str:
    content = event.content
    texts = [content["text"]] if isinstance(content.get("text"), str) else []
    texts += [p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(t for t in texts if t.strip())


def turns_from_events(events: Iterable[Event]) -> list[Turn]:
    turns = []
    for event in events:
        text = event_text(event)
        if text:
            turns.append(
                Turn(
                    author=event.author,
                    text=text,
                    timestamp=event.timestamp,
                    role=event.role,
                    event_id=event.id,
                )
            )
    return turns


def chunk_turns(turns: Sequence[Turn]) -> list[list[Turn]]:
    """Split a long conversation into chunks the extractor can take (by turns and by characters)."""
    chunks: list[list[Turn]] = []
    current: list[Turn] = []
    size = 0
    for turn in turns:
        if current and (
            len(current) >= limits.EXTRACTION_CHUNK_TURNS or size + len(turn.text) > limits.EXTRACTION_CHUNK_CHARS
        ):
            chunks.append(current)
            current, size = [], 0
        current.append(turn)
        size += len(turn.text)
    if current:
        chunks.append(current)
    return chunks


def topics_of(spec: JobSpec) -> list[Topic]:
    wanted: list[str | CustomTopic] = list(spec.topics or MANAGED_TOPICS)
    topics = []
    for t in wanted:
        if isinstance(t, str):
            topics.append(Topic(label=t, description=MANAGED_TOPICS[t], managed=True))
        else:
            topics.append(Topic(label=t.label, description=t.description))
    return topics


def examples_of(spec: JobSpec, now: datetime) -> list[FewShotExample]:
    return [
        FewShotExample(
            conversation=tuple(Turn(author=t.author, text=t.text, timestamp=now, role=t.role) for t in ex.conversation),
            facts=tuple(ex.facts),
        )
        for ex in spec.examples or []
    ]


# -- the API side ---------------------------------------------------------------------------------


class GenerationService:
    def __init__(
        self,
        jobs: JobRepository,
        sessions: SessionService,
        extraction_queue: MessageQueue,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jobs = jobs
        self._sessions = sessions
        self._queue = extraction_queue
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic

    def submit(self, tenant: str, req: GenerateRequest) -> Job:
        scope = req.scope
        if req.session_id is not None:
            session = self._sessions.get(tenant, req.session_id)  # 404 for unknown / another tenant's
            scope = scope or {"user_id": session.user_id}
        assert scope is not None  # the request model insists on a scope without a session
        spec = JobSpec.of(req, scope)
        if len(spec.to_json().encode()) > limits.MAX_JOB_SPEC_BYTES:
            raise PayloadTooLargeError(
                f"a generate request is limited to {limits.MAX_JOB_SPEC_BYTES} bytes of events/facts/examples",
                [FieldProblem("events", "too large: split the conversation or give a session_id")],
            )
        now = self._clock()
        job = Job(
            id=new_id(),
            status=JobStatus.PENDING,
            scope=scope,
            create_time=now,
            update_time=now,
            session_id=req.session_id,
        )
        self._jobs.create(tenant, job, spec)
        self._queue.send(ExtractionMessage(tenant=tenant, job_id=job.id))
        return job

    def get(self, tenant: str, job_id: str) -> Job:
        stored = self._jobs.get(tenant, job_id)
        if stored is None:
            raise NotFoundError(f"job {job_id} not found")
        return stored.job

    def wait(self, tenant: str, job_id: str, seconds: float) -> Job:
        """Poll until the job ends or ``seconds`` pass; return it either way."""
        deadline = self._monotonic() + seconds
        job = self.get(tenant, job_id)
        while job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED) and self._monotonic() < deadline:
            self._sleep(min(0.25, max(0.0, deadline - self._monotonic())))
            job = self.get(tenant, job_id)
        return job


# -- the workers ----------------------------------------------------------------------------------


class JobWorker:
    """What both workers share: their job store and clock, and giving up on a job."""

    _jobs: JobRepository
    _clock: Callable[[], datetime]

    def fail(self, tenant: str, job_id: str, reason: str) -> None:
        """Mark the job FAILED with ``reason`` (a message that keeps failing, or can never succeed)."""
        if self._jobs.fail(tenant, job_id, reason, self._clock()):
            count("JobsFailed")
            logger.warning("job failed", extra={"job_id": job_id, "reason": reason})

    def _open_job(self, tenant: str, job_id: str) -> tuple[StoredJob | None, str]:
        """The job, if there is still work to do for it; else None and why."""
        logger.thread_safe_append_keys(job_id=job_id)  # this invocation only (observability.with_lambda_context)
        stored = self._jobs.get(tenant, job_id)
        if stored is None:  # never created or expired: retrying cannot help
            logger.warning("message for an unknown job dropped", extra={"job_id": job_id})
            return None, "unknown job: dropped"
        if stored.finished:
            return None, "already finished"
        return stored, ""


class ExtractionWorker(JobWorker):
    def __init__(
        self,
        jobs: JobRepository,
        sessions: SessionService,
        extractor: Extractor,
        consolidation_queue: MessageQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = jobs
        self._sessions = sessions
        self._extractor = extractor
        self._queue = consolidation_queue
        self._clock = clock

    def _turns(self, tenant: str, spec: JobSpec, now: datetime) -> list[Turn]:
        if spec.session_events is not None:  # a policy's final job: the session is gone, its events came along
            return turns_from_events(spec.session_events)
        if spec.session_id is not None:
            events = self._sessions.all_events(tenant, spec.session_id, spec.after_seq or 0)
            until = spec.until_seq
            return turns_from_events(events if until is None else itertools.takewhile(lambda e: e.seq <= until, events))
        return [
            Turn(author=e.author, text=e.text, role=e.role, event_id=f"direct-{i}", timestamp=e.timestamp or now)
            for i, e in enumerate(spec.events or [])
        ]

    def _candidates(self, tenant: str, spec: JobSpec, now: datetime) -> list[CandidateFact]:
        if spec.facts is not None:
            return [CandidateFact(fact=f, topic=PROVIDED_TOPIC) for f in spec.facts]
        turns = self._turns(tenant, spec, now)
        topics, examples = topics_of(spec), examples_of(spec, now)
        seen: set[str] = set()
        candidates = []
        tokens_in = tokens_out = 0
        known_name: str | None = None
        said_at = {t.event_id: t.timestamp for t in turns if t.event_id}
        with timed("ExtractionLatency"):
            for chunk in chunk_turns(turns):
                extraction = self._extractor.extract(chunk, topics, examples, known_name=known_name)
                tokens_in += extraction.usage.input_tokens
                tokens_out += extraction.usage.output_tokens
                for fact in extraction.facts:
                    known_name = name_in(fact.fact) or known_name  # names the facts of the next chunks
                    key = " ".join(fact.fact.lower().split())
                    if key not in seen:
                        seen.add(key)
                        said = [said_at[i] for i in fact.source_event_ids if i in said_at]
                        candidates.append(dataclasses.replace(fact, event_time=max(said, default=None)))
        count("ModelInputTokens", tokens_in)
        count("ModelOutputTokens", tokens_out)
        return candidates

    def handle(self, message: ExtractionMessage) -> str:
        tenant, job_id = message.tenant, message.job_id
        stored, why_not = self._open_job(tenant, job_id)
        if stored is None:
            return why_not
        spec = stored.spec  # MalformedMessageError: the job fails at once
        now = self._clock()
        self._jobs.mark_running(tenant, job_id, now)
        candidates = self._candidates(tenant, spec, now)
        parts = [
            candidates[i : i + limits.CONSOLIDATION_PART_CANDIDATES]
            for i in range(0, len(candidates), limits.CONSOLIDATION_PART_CANDIDATES)
        ]
        if self._jobs.set_parts(tenant, job_id, len(parts), len(candidates), now) is None:
            return "job ended meanwhile"
        if not parts:
            self._jobs.succeed_if_complete(tenant, job_id, self._clock())
            return "no candidates"
        scope = stored.job.scope
        for number, part in enumerate(parts):
            self._queue.send(
                ConsolidationMessage(
                    tenant=tenant,
                    job_id=job_id,
                    part=number,
                    scope=scope,
                    session_id=spec.session_id,
                    disable_consolidation=spec.disable_consolidation,
                    candidates=[
                        CandidateMessage(
                            fact=c.fact,
                            topic=c.topic,
                            source_event_ids=list(c.source_event_ids),
                            event_time=c.event_time,
                        )
                        for c in part
                    ],
                ),
                group_id=consolidation_group(tenant, scope),
                dedup_id=f"{job_id}-{number}",
            )
        return f"{len(candidates)} candidates in {len(parts)} parts"


class ConsolidationWorker(JobWorker):
    SIMILAR = 5

    def __init__(
        self,
        jobs: JobRepository,
        memories: MemoryService,
        decider: Decider,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = jobs
        self._memories = memories
        self._decider = decider
        self._clock = clock

    def _apply(
        self,
        tenant: str,
        job_id: str,
        message: ConsolidationMessage,
        index: int,
        cand: CandidateFact,
        result: JobResult,
    ) -> None:
        scope = message.scope
        actor = f"job:{job_id}"
        source = Source(session_id=message.session_id, event_ids=list(cand.source_event_ids))
        topics = [cand.topic] if cand.topic and cand.topic != PROVIDED_TOPIC else []
        if message.disable_consolidation:
            decision_action, target, fact = Action.ADD, None, cand.fact
        else:
            similar = [
                # deciders reason in cosine; the index answers semantic scores (fusion.cosine_to_score)
                ExistingMemory(m.id, m.fact, tuple(m.topics), score_to_cosine(score))
                for m, score in self._memories.similar(tenant, scope, cand.fact, self.SIMILAR)
            ]
            decision = self._decider.decide(cand, similar)
            count("ModelInputTokens", decision.usage.input_tokens)
            count("ModelOutputTokens", decision.usage.output_tokens)
            decision_action, target, fact = decision.action, decision.memory_id, decision.fact or cand.fact
        try:
            if decision_action == Action.ADD:
                memory_id = derived_memory_id(job_id, message.part, index)
                with contextlib.suppress(ConflictError):  # a replay of this very candidate: already there
                    self._memories.create(
                        tenant,
                        MemoryCreate(scope=scope, fact=fact, topics=topics, event_time=cand.event_time),
                        actor,
                        source,
                        memory_id=memory_id,
                    )
                result.added += 1
                result.memory_ids.append(memory_id)
            elif decision_action == Action.UPDATE and target:
                patch = MemoryPatch(fact=fact, event_time=cand.event_time)
                self._memories.update(tenant, target, patch, actor, source=source)
                result.updated += 1
                result.memory_ids.append(target)
            elif decision_action == Action.DELETE and target:
                self._memories.delete(tenant, target, actor, source=source)
                result.deleted += 1
                result.memory_ids.append(target)
            else:
                result.unchanged += 1
        except NotFoundError:
            result.unchanged += 1  # the target went away meanwhile (e.g. a replayed DELETE)

    def handle(self, message: ConsolidationMessage) -> str:
        tenant, job_id, part = message.tenant, message.job_id, message.part
        stored, why_not = self._open_job(tenant, job_id)
        if stored is None:
            return why_not
        result = JobResult()
        names = ScopeNames(self._memories, tenant, message.scope)
        for index, raw in enumerate(message.candidates):
            fact = raw.fact
            if raw.topic != PROVIDED_TOPIC and not message.disable_consolidation:
                fact = names.complete(fact)  # the user's known name; who a named person is
                names.learn(fact)
            cand = CandidateFact(fact, raw.topic, tuple(raw.source_event_ids), raw.event_time)
            self._apply(tenant, job_id, message, index, cand, result)
        now = self._clock()
        if self._jobs.record_part(tenant, job_id, part, result, now) is None:
            return "part already counted"
        self._jobs.succeed_if_complete(tenant, job_id, now)
        return f"added {result.added}, updated {result.updated}, deleted {result.deleted}, unchanged {result.unchanged}"
