"""Evidence recall on the multi-session set, through the HTTP API as a user would drive it.

Each conversation is ingested session by session (``POST /v1/sessions``, every turn as
``POST /v1/sessions/{id}/events`` with its real timestamp, then ``POST /v1/memories/generate`` for the
session), then every question is asked of each retriever, top ``k``:

* ``memories``: ``POST /v1/memories/search``; a result reaches the turns in its ``source.event_ids``;
* ``events``: ``POST /v1/events/search``; a result is the event itself;
* ``recall``: ``POST /v1/recall``; a memory result reaches its provenance, an event result is itself;
* ``bm25``: plain BM25 (bm25s, lower-cased words, English stop words, no stemming) over the raw text of
  every turn of the same user, user and assistant alike: the naive baseline, asked the same questions;
* optionally (:data:`MODE_RETRIEVERS`), memory and event search in one component mode each
  (``memories semantic``, ``events keyword``, ...): hybrid search must not rank below its components.

``any@k``: some evidence turn is reached by the top k; ``all@k``: every evidence turn is. A route the
server does not have (404/405) is reported as not available rather than as zero. Extraction coverage is
measured on the same run: the share of evidence turns that some stored memory names as its source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from contextiq.evaluation.dataset import fact_matches
from contextiq.evaluation.multisession import MultiSessionConversation, QuestionKind, RecallQuestion

APP_NAME = "recall-eval"
RETRIEVERS = ("memories", "events", "recall", "bm25")
#: Memory and event search in a single component mode (the hybrid ones are ``memories`` and ``events``).
MODE_RETRIEVERS = ("memories semantic", "memories keyword", "events semantic", "events keyword")


class HttpClient(Protocol):
    """What the runner needs of an HTTP client (httpx.Client and fastapi's TestClient both fit)."""

    def post(self, url: str, *, json: Any = ...) -> Any: ...

    def get(self, url: str, *, params: Any = ...) -> Any: ...


class NotAvailableError(Exception):
    """The server has no such route (yet)."""


@dataclass
class KindScore:
    questions: int = 0
    any_hits: int = 0
    all_hits: int = 0

    @property
    def any_at_k(self) -> float:
        return self.any_hits / self.questions if self.questions else 0.0

    @property
    def all_at_k(self) -> float:
        return self.all_hits / self.questions if self.questions else 0.0


@dataclass
class RecallReport:
    k: int
    scores: dict[str, dict[QuestionKind, KindScore]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    evidence_turns: int = 0
    evidence_covered: int = 0  # evidence turns some memory names as its source
    expected_facts: int = 0
    facts_found: int = 0
    memories: int = 0
    turns: int = 0
    sessions: int = 0
    ingest_seconds: float = 0.0
    query_seconds: dict[str, float] = field(default_factory=dict)
    misses: dict[str, list[str]] = field(default_factory=dict)
    #: with ``evaluate(pools=True)``: per question, the candidate pools recall fuses (for offline fusion
    #: studies, contextiq.evaluation.fusion_study)
    pools: list[dict[str, Any]] = field(default_factory=list)

    def score(self, retriever: str, kind: QuestionKind) -> KindScore:
        return self.scores.setdefault(retriever, {}).setdefault(kind, KindScore())

    @property
    def extraction_coverage(self) -> float:
        return self.evidence_covered / self.evidence_turns if self.evidence_turns else 0.0


# -- ingestion -------------------------------------------------------------------------------------


def _ok(response: Any, what: str) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    return response.json()


def ingest(
    client: HttpClient,
    conv: MultiSessionConversation,
    after_generate: Callable[[], None] | None = None,
    wait_seconds: int = 25,
) -> dict[str, str]:
    """Send every session and generate memories after each; return turn id -> event id."""
    event_ids: dict[str, str] = {}
    for session in conv.sessions:
        sid = _ok(client.post("/v1/sessions", json={"user_id": conv.user_id, "app_name": APP_NAME}), "session")["id"]
        for turn in session.turns:
            body = {
                "author": turn.author,
                "role": turn.role,
                "content": {"text": turn.text},
                "timestamp": turn.timestamp.isoformat(),
            }
            event_ids[turn.turn_id] = _ok(client.post(f"/v1/sessions/{sid}/events", json=body), "event")["id"]
        wait = 0 if after_generate else wait_seconds
        job = _ok(client.post("/v1/memories/generate", json={"session_id": sid, "wait_seconds": wait}), "generate")
        job_id = job.get("job_id") or job["id"]
        if after_generate:
            after_generate()
        status = _ok(client.get(f"/v1/jobs/{job_id}"), "job")
        deadline = time.monotonic() + 120
        while status["status"] not in ("SUCCEEDED", "FAILED") and time.monotonic() < deadline:
            time.sleep(0.5)
            status = _ok(client.get(f"/v1/jobs/{job_id}"), "job")
        if status["status"] != "SUCCEEDED":
            raise RuntimeError(f"generation of {session.session_id} ended {status['status']}: {status.get('error')}")
    return event_ids


def stored_memories(client: HttpClient, user_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"scope.user_id": user_id, "limit": 100, **({"next_token": token} if token else {})}
        page = _ok(client.get("/v1/memories", params=params), "list memories")
        items += page["items"]
        token = page.get("next_token")
        if not token:
            return items


# -- retrievers: each returns, per rank, the event ids the result reaches ----------------------------


def _post_search(client: HttpClient, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(url, json=body)
    if response.status_code in (404, 405):
        raise NotAvailableError(f"{url} answered {response.status_code}")
    results: list[dict[str, Any]] = _ok(response, url)["results"]
    return results


def _memory_reach(memory: dict[str, Any]) -> set[str]:
    return set((memory.get("source") or {}).get("event_ids") or [])


def search_memories(client: HttpClient, user_id: str, query: str, k: int, mode: str = "hybrid") -> list[set[str]]:
    body = {"scope": {"user_id": user_id}, "query": query, "top_k": k, "mode": mode}
    return [_memory_reach(r["memory"]) for r in _post_search(client, "/v1/memories/search", body)]


def search_events(client: HttpClient, user_id: str, query: str, k: int, mode: str = "hybrid") -> list[set[str]]:
    body = {"user_id": user_id, "query": query, "top_k": k, "mode": mode}
    return [{r["event"]["id"]} for r in _post_search(client, "/v1/events/search", body)]


def recall(client: HttpClient, user_id: str, query: str, k: int) -> list[set[str]]:
    body = {"scope": {"user_id": user_id}, "query": query, "top_k": k}
    reached = []
    for r in _post_search(client, "/v1/recall", body):
        if r.get("type") == "event":
            reached.append({r["event"]["id"]})
        elif r.get("type") == "memory":
            reached.append(_memory_reach(r["memory"]))
        else:
            reached.append(set())
    return reached


class Bm25Baseline:
    """Plain BM25 over one user's raw turns (the baseline a search box over the transcript would give)."""

    def __init__(self, texts: Sequence[str], ids: Sequence[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self._ids = list(ids)
        self._index = bm25s.BM25()
        self._index.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[set[str]]:
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        docs, scores = self._index.retrieve(tokens, k=min(k, len(self._ids)), show_progress=False)
        return [{self._ids[int(d)]} for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def _pools(
    client: HttpClient, conv: MultiSessionConversation, q: RecallQuestion, wanted: set[str], bm25: Bm25Baseline, k: int
) -> dict[str, Any]:
    """What recall fuses for ``q``: the memory and event candidate pools, as the server returns them."""
    from contextiq.services.recall import pool_size

    size = pool_size(k)
    memories = _post_search(client, "/v1/memories/search", {"scope": {"user_id": conv.user_id}, "query": q.question,
                                                             "top_k": size})  # fmt: skip
    events = _post_search(client, "/v1/events/search", {"user_id": conv.user_id, "query": q.question, "top_k": size})
    return {
        "question_id": q.question_id, "kind": q.kind.value, "phrasing": q.phrasing.value, "question": q.question,
        "wanted": sorted(wanted), "memories": memories, "events": events,
        "bm25": [sorted(r) for r in bm25.search(q.question, k)],
    }  # fmt: skip


# -- the run ---------------------------------------------------------------------------------------


def _grade(report: RecallReport, name: str, q: RecallQuestion, reached: Iterable[set[str]], wanted: set[str]) -> None:
    got = set().union(*reached) & wanted
    score = report.score(name, q.kind)
    score.questions += 1
    score.any_hits += bool(got)
    score.all_hits += got == wanted
    if not got:
        report.misses.setdefault(name, []).append(f"{q.question_id} [{q.kind}] {q.question}")


def evaluate(
    client: HttpClient,
    conversations: Sequence[MultiSessionConversation],
    *,
    k: int = 10,
    after_generate: Callable[[], None] | None = None,
    retrievers: Sequence[str] = RETRIEVERS,
    report: RecallReport | None = None,
    pools: bool = False,
) -> RecallReport:
    """Ingest every conversation, then ask every question of every retriever (see the module docstring).
    Scores add up in ``report`` when given (one stack per conversation keeps a local run's memory small)."""
    report = report or RecallReport(k=k)
    started = time.perf_counter()
    mapped = [(conv, ingest(client, conv, after_generate)) for conv in conversations]
    report.ingest_seconds += time.perf_counter() - started
    searches: dict[str, Callable[[HttpClient, str, str, int], list[set[str]]]] = {
        "memories": search_memories,
        "events": search_events,
        "recall": recall,
    }
    for name in MODE_RETRIEVERS:
        source, mode = name.split()
        searches[name] = partial(search_memories if source == "memories" else search_events, mode=mode)
    for conv, event_of in mapped:
        report.sessions += len(conv.sessions)
        report.turns += len(conv.turns)
        memories = stored_memories(client, conv.user_id)
        report.memories += len(memories)
        sourced = set().union(*(_memory_reach(m) for m in memories)) if memories else set()
        evidence = {event_of[t] for q in conv.questions for t in q.evidence}
        report.evidence_turns += len(evidence)
        report.evidence_covered += len(evidence & sourced)
        facts = [m["fact"] for m in memories]
        report.expected_facts += len(conv.expected_facts)
        report.facts_found += sum(any(fact_matches(f.fact, m) for m in facts) for f in conv.expected_facts)
        baseline = Bm25Baseline([t.text for t in conv.turns], [event_of[t.turn_id] for t in conv.turns])
        for q in conv.questions:
            wanted = {event_of[t] for t in q.evidence}
            for name in retrievers:
                if name in report.unavailable:
                    continue
                t0 = time.perf_counter()
                try:
                    reached = (
                        baseline.search(q.question, k)
                        if name == "bm25"
                        else searches[name](client, conv.user_id, q.question, k)
                    )
                except NotAvailableError as exc:
                    report.unavailable[name] = str(exc)
                    continue
                report.query_seconds[name] = report.query_seconds.get(name, 0.0) + time.perf_counter() - t0
                _grade(report, name, q, reached, wanted)
            if pools:
                report.pools.append(_pools(client, conv, q, wanted, baseline, k))
    return report


def table(report: RecallReport) -> str:
    """The markdown table of docs/benchmarks.md: any@k / all@k per question kind and retriever."""
    kinds = list(QuestionKind)
    counts = {kind: max((s[kind].questions for s in report.scores.values() if kind in s), default=0) for kind in kinds}
    head = "| retriever | " + " | ".join(f"{kind.value} ({counts[kind]})" for kind in kinds) + " | all |"
    lines = [head, "| --- |" + " --- |" * (len(kinds) + 1)]
    for name in (*RETRIEVERS, *MODE_RETRIEVERS):
        if name in report.unavailable:
            lines.append(f"| {name} | " + " | ".join("n/a" for _ in kinds) + " | n/a (route not available) |")
            continue
        per_kind = report.scores.get(name)
        if not per_kind:
            continue
        cells = [f"{per_kind[kind].any_at_k:.2f} / {per_kind[kind].all_at_k:.2f}" for kind in kinds if kind in per_kind]
        total = KindScore(
            sum(s.questions for s in per_kind.values()),
            sum(s.any_hits for s in per_kind.values()),
            sum(s.all_hits for s in per_kind.values()),
        )
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {total.any_at_k:.2f} / {total.all_at_k:.2f} |")
    return "\n".join(lines)


def summary(report: RecallReport) -> str:
    facts = f"{report.facts_found}/{report.expected_facts}"
    return "\n".join(
        [
            f"{report.sessions} sessions, {report.turns} turns, {report.memories} memories generated; "
            f"evidence recall any@{report.k} / all@{report.k} per question kind:",
            "",
            table(report),
            "",
            f"extraction coverage: {report.evidence_covered}/{report.evidence_turns} evidence turns are the source "
            f"of a memory ({report.extraction_coverage:.2f}); templated facts stored: {facts}",
            f"ingestion (events + generation) {report.ingest_seconds:.0f} s",
        ]
    )
