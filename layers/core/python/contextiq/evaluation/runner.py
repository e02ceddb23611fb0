"""Generate-then-search recall on the evaluation set: each conversation becomes a session, is turned
into memories by the real pipeline (queues, workers, extractor, decider, index), then each question is
searched in the user's scope and checked against the facts it should retrieve."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from contextiq.container import Container
from contextiq.evaluation.dataset import EvalConversation, all_questions, fact_matches, generate_eval_set, match_facts
from contextiq.models.jobs import GenerateRequest, JobStatus
from contextiq.models.memories import SearchRequest
from contextiq.models.sessions import EventCreate, SessionCreate

TENANT = "eval"


@dataclass
class EvalReport:
    conversations: int = 0
    questions: int = 0
    expected_facts: int = 0
    extracted_found: int = 0
    retrieval_hits: int = 0
    retrieval_total: int = 0
    job_seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def extraction_recall(self) -> float:
        return self.extracted_found / self.expected_facts if self.expected_facts else 1.0

    @property
    def retrieval_recall(self) -> float:
        return self.retrieval_hits / self.retrieval_total if self.retrieval_total else 1.0


def load_conversation(container: Container, conv: EvalConversation) -> str:
    session = container.sessions.create(TENANT, SessionCreate(user_id=conv.user_id, app_name="eval"))
    for turn in conv.turns:
        container.sessions.append_event(
            TENANT,
            session.id,
            EventCreate.model_validate(
                {"author": turn.author, "role": turn.role, "content": {"text": turn.text}, "timestamp": turn.timestamp}
            ),
        )
    return session.id


def run_eval(container: Container, drain: Callable[[], None], top_k: int = 5, size: int = 30) -> EvalReport:
    report = EvalReport()
    conversations = generate_eval_set(size=size)
    for conv in conversations:
        sid = load_conversation(container, conv)
        start = time.perf_counter()
        job = container.generation.submit(TENANT, GenerateRequest(session_id=sid))
        drain()
        report.job_seconds.append(time.perf_counter() - start)
        finished = container.generation.get(TENANT, job.id)
        if finished.status != JobStatus.SUCCEEDED:
            report.misses.append(f"{conv.conversation_id}: job {finished.status} {finished.error}")
        stored, _ = container.memories.list_scope(TENANT, {"user_id": conv.user_id}, None, 100, None)
        matched = match_facts(conv.expected_facts, [m.fact for m in stored])
        report.conversations += 1
        report.expected_facts += len(conv.expected_facts)
        report.extracted_found += len(matched.found)
    for conv, question in all_questions(conversations):
        results = container.memories.search(
            TENANT, SearchRequest(scope={"user_id": conv.user_id}, query=question.question, top_k=top_k)
        ).results
        facts = [r.memory.fact for r in results]
        report.questions += 1
        for want in question.expected_facts:
            report.retrieval_total += 1
            if any(fact_matches(want, f) for f in facts):
                report.retrieval_hits += 1
            else:
                report.misses.append(f"{question.question!r} -> wanted {want!r}, got {facts[:3]}")
    return report


def mode_recall(
    container: Container, modes: tuple[str, ...], ks: tuple[int, ...], size: int = 30
) -> dict[str, dict[int, float]]:
    """Retrieval recall@k of each search mode on the set's questions, once :func:`run_eval` has stored the
    memories: does hybrid search ever rank below one of its components?"""
    top = max(ks)
    hits = {mode: dict.fromkeys(ks, 0) for mode in modes}
    total = 0
    for conv, question in all_questions(generate_eval_set(size=size)):
        total += len(question.expected_facts)
        for mode in modes:
            request = SearchRequest(scope={"user_id": conv.user_id}, query=question.question, top_k=top, mode=mode)
            facts = [r.memory.fact for r in container.memories.search(TENANT, request).results]
            for want in question.expected_facts:
                for k in ks:
                    hits[mode][k] += any(fact_matches(want, f) for f in facts[:k])
    return {mode: {k: hits[mode][k] / total if total else 1.0 for k in ks} for mode in modes}


def summary(report: EvalReport, top_k: int) -> str:
    median_ms = statistics.median(report.job_seconds) * 1000 if report.job_seconds else 0.0
    return (
        f"{report.conversations} conversations, {report.expected_facts} expected facts, {report.questions} questions\n"
        f"extraction recall (expected facts present as memories): {report.extraction_recall:.3f}\n"
        f"retrieval recall@{top_k} (question -> expected fact in the top {top_k}): {report.retrieval_recall:.3f}\n"
        f"median generation job time: {median_ms:.0f} ms"
    )
