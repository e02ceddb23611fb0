"""GenerationService and the two workers at their boundary, on fakes: parts, replays, the job's end."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from contextiq import limits
from contextiq.ai.embedders.hashing import HashingEmbedder
from contextiq.ai.extractors.base import (
    Action,
    CandidateFact,
    Decision,
    ExistingMemory,
    Extraction,
    FewShotExample,
    Topic,
    Turn,
)
from contextiq.errors import NotFoundError, PayloadTooLargeError
from contextiq.models.jobs import GenerateRequest, JobStatus
from contextiq.models.pipeline import ConsolidationMessage, ExtractionMessage
from contextiq.models.sessions import EventCreate, SessionCreate
from contextiq.services.generation import ConsolidationWorker, ExtractionWorker, GenerationService
from contextiq.services.memories import MemoryService
from contextiq.services.sessions import SessionService
from tests.fakes import (
    FakeClock,
    FakeJobRepository,
    FakeMemoryRepository,
    FakeQueue,
    FakeSessionRepository,
    FakeVectorIndex,
    Sleeps,
)

T = "tenant-a"
SCOPE = {"user_id": "u"}


class EchoExtractor:
    """Every user turn is one candidate fact (what the extractor decides is not under test here)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Turn], list[Topic], list[FewShotExample]]] = []

    def extract(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
        *,
        known_name: str | None = None,
    ) -> Extraction:
        self.calls.append((list(turns), list(topics), list(examples)))
        return Extraction([CandidateFact(t.text, topics[0].label, (t.event_id or "",)) for t in turns])


class ScriptedDecider:
    """Answers with the next scripted decision; ADD when the script is empty."""

    def __init__(self, *script: Decision) -> None:
        self.script = list(script)
        self.seen: list[tuple[CandidateFact, list[ExistingMemory]]] = []

    def decide(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> Decision:
        self.seen.append((candidate, list(similar)))
        return self.script.pop(0) if self.script else Decision(Action.ADD)


class Pipeline:
    def __init__(self, decider: ScriptedDecider | None = None) -> None:
        self.clock = FakeClock()
        self.jobs = FakeJobRepository()
        self.sessions = SessionService(FakeSessionRepository(), clock=self.clock)
        self.index = FakeVectorIndex()
        self.memories = MemoryService(
            FakeMemoryRepository(), HashingEmbedder(64), self.index, clock=self.clock, sleep=Sleeps()
        )
        self.extraction_queue, self.consolidation_queue = FakeQueue(), FakeQueue()
        self.api = GenerationService(self.jobs, self.sessions, self.extraction_queue, clock=self.clock, sleep=Sleeps())
        self.extractor = EchoExtractor()
        self.extraction = ExtractionWorker(
            self.jobs, self.sessions, self.extractor, self.consolidation_queue, clock=self.clock
        )
        self.decider = decider or ScriptedDecider()
        self.consolidation = ConsolidationWorker(self.jobs, self.memories, self.decider, clock=self.clock)

    def submit(self, **body: object) -> str:
        job = self.api.submit(T, GenerateRequest.model_validate(body))
        return job.id

    def extract(self) -> list[ConsolidationMessage]:
        for sent in self.extraction_queue.take():
            assert isinstance(sent.message, ExtractionMessage)
            self.extraction.handle(sent.message)
        parts = [s.message for s in self.consolidation_queue.sent]
        assert all(isinstance(p, ConsolidationMessage) for p in parts)
        return parts  # type: ignore[return-value]


@pytest.fixture
def p() -> Pipeline:
    return Pipeline()


def test_a_job_succeeds_exactly_when_its_last_part_is_counted(p: Pipeline) -> None:
    n = limits.CONSOLIDATION_PART_CANDIDATES + 1
    job_id = p.submit(facts=[f"fact number {i}" for i in range(n)], scope=SCOPE)
    parts = p.extract()
    assert [m.part for m in parts] == [0, 1] and [len(m.candidates) for m in parts] == [n - 1, 1]
    sent = p.consolidation_queue.sent
    assert sent[0].group_id == sent[1].group_id and [s.dedup_id for s in sent] == [f"{job_id}-0", f"{job_id}-1"]
    assert p.api.get(T, job_id).status == JobStatus.RUNNING
    assert p.consolidation.handle(parts[1]).startswith("added 1")  # parts may finish in any order
    assert p.api.get(T, job_id).status == JobStatus.RUNNING
    p.consolidation.handle(parts[0])
    job = p.api.get(T, job_id)
    assert job.status == JobStatus.SUCCEEDED and job.result and job.result.added == n
    assert p.consolidation.handle(parts[0]) == "already finished"  # a late redelivery changes nothing
    assert len(p.index.facts(T, SCOPE)) == n


def test_a_part_replayed_before_it_was_counted_adds_nothing_twice(p: Pipeline) -> None:
    job_id = p.submit(facts=["Ann likes tea", "Ann has a dog"], scope=SCOPE, disable_consolidation=True)
    (part,) = p.extract()
    jobs = p.jobs
    original = jobs.record_part

    def crash_before_counting(*_a, **_k):  # type: ignore[no-untyped-def]
        raise TimeoutError("worker died after writing the memories")

    jobs.record_part = crash_before_counting  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        p.consolidation.handle(part)
    jobs.record_part = original  # type: ignore[method-assign]
    p.consolidation.handle(part)  # SQS delivers it again
    job = p.api.get(T, job_id)
    assert job.status == JobStatus.SUCCEEDED and job.result and job.result.added == 2
    assert p.index.facts(T, SCOPE) == ["Ann has a dog", "Ann likes tea"]  # derived ids: no duplicates
    assert p.consolidation.handle(part) == "already finished"


def test_decisions_update_and_delete_with_the_job_as_actor_and_the_session_as_source() -> None:
    p = Pipeline()
    old = p.memories.create(T, _memory("Ann lives in Rome"), "apikey:k")
    gone = p.memories.create(T, _memory("Ann owns a bike"), "apikey:k")
    p.decider.script = [
        Decision(Action.UPDATE, old.id, "Ann lives in Milan"),
        Decision(Action.DELETE, gone.id),
        Decision(Action.NOOP, old.id),
    ]
    sid = p.sessions.create(T, SessionCreate(user_id="u")).id
    for text in ("I moved to Milan", "I sold my bike", "I live in Milan"):
        p.sessions.append_event(T, sid, EventCreate.model_validate({"author": "user", "content": {"text": text}}))
    job_id = p.submit(session_id=sid)
    (part,) = p.extract()
    assert part.scope == SCOPE and part.session_id == sid  # the scope defaults to the session's user
    p.consolidation.handle(part)
    job = p.api.get(T, job_id)
    assert job.result and (job.result.updated, job.result.deleted, job.result.unchanged) == (1, 1, 1)
    assert p.memories.get(T, old.id).fact == "Ann lives in Milan"
    revision = p.memories.revisions(T, old.id, 10, None)[0][-1]
    assert revision.actor == f"job:{job_id}" and revision.source and revision.source.session_id == sid
    assert revision.source.event_ids == [part.candidates[0].source_event_ids[0]]
    candidate, similar = p.decider.seen[0]
    assert candidate.topic == "USER_PERSONAL_INFO" and all(-1.0 <= s.score <= 1.0 for s in similar)


def test_provided_facts_are_not_tagged_with_a_topic_and_direct_events_keep_their_time(p: Pipeline) -> None:
    p.submit(facts=["Ann likes tea"], scope=SCOPE)
    (part,) = p.extract()
    assert part.candidates[0].topic == "PROVIDED"
    p.consolidation.handle(part)
    assert p.memories.list_scope(T, SCOPE, None, 10, None)[0][0].topics == []
    p.submit(
        events=[
            {"author": "user", "text": "I like tea", "timestamp": "2025-05-05T10:00:00Z"},
            {"author": "user", "text": "x"},
        ],
        scope=SCOPE,
        topics=[{"label": "drinks", "description": "what they drink"}],
        examples=[{"conversation": [{"author": "user", "text": "I drink milk"}], "facts": ["drinks milk"]}],
    )
    p.extract()
    turns, topics, examples = p.extractor.calls[-1]
    assert [t.timestamp.year for t in turns] == [2025, p.clock.now.year]
    assert [t.label for t in topics] == ["drinks"] and examples[0].facts == ("drinks milk",)


def test_no_candidates_succeeds_at_once_and_a_finished_or_unknown_job_is_left_alone(p: Pipeline) -> None:
    sid = p.sessions.create(T, SessionCreate(user_id="u")).id
    job_id = p.submit(session_id=sid)
    assert p.extract() == []
    assert p.api.get(T, job_id).status == JobStatus.SUCCEEDED
    assert p.extraction.handle(ExtractionMessage(tenant=T, job_id=job_id)) == "already finished"
    assert p.extraction.handle(ExtractionMessage(tenant="tenant-b", job_id=job_id)) == "unknown job: dropped"


def test_failing_a_job_records_why_once(p: Pipeline) -> None:
    job_id = p.submit(facts=["x"], scope=SCOPE)
    p.extraction.fail(T, job_id, "boom")
    p.extraction.fail(T, job_id, "again")  # a later failure does not overwrite the first reason
    job = p.api.get(T, job_id)
    assert job.status == JobStatus.FAILED and job.error == "boom"
    (message,) = p.extraction_queue.take()
    assert p.extraction.handle(message.message) == "already finished"  # type: ignore[arg-type]


def test_submit_checks_the_session_and_the_stored_size(p: Pipeline) -> None:
    with pytest.raises(NotFoundError):
        p.submit(session_id="nope")
    sid = p.sessions.create(T, SessionCreate(user_id="u")).id
    with pytest.raises(NotFoundError):
        p.api.submit("tenant-b", GenerateRequest(session_id=sid))
    text = "y" * 60_000
    events = [{"author": "user", "text": text}] * (limits.MAX_JOB_SPEC_BYTES // len(text) + 1)
    with pytest.raises(PayloadTooLargeError):
        p.submit(events=events, scope=SCOPE)
    assert p.jobs.rows == {} and p.extraction_queue.sent == []


def _memory(fact: str):  # type: ignore[no-untyped-def]
    from contextiq.models.memories import MemoryCreate

    return MemoryCreate(scope=SCOPE, fact=fact)


def test_wait_polls_until_the_job_ends_or_the_time_is_up(p: Pipeline) -> None:
    elapsed = [0.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        elapsed[0] += seconds

    api = GenerationService(p.jobs, p.sessions, p.extraction_queue, sleep=sleep, monotonic=lambda: elapsed[0])
    job_id = p.submit(facts=["Ann likes tea"], scope=SCOPE)
    assert api.wait(T, job_id, 1.1).status == JobStatus.PENDING  # nobody works on it
    assert sleeps == [0.25, 0.25, 0.25, 0.25, pytest.approx(0.1)]
    sleeps.clear()
    (part,) = p.extract()
    p.consolidation.handle(part)
    assert api.wait(T, job_id, 5).status == JobStatus.SUCCEEDED and sleeps == []  # ended: no polling
