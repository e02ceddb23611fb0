"""Units behind issue 11: retries of PATCH without If-Match, page-token codec, per-thread log context."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from contextiq.errors import InvalidInputError, VersionConflictError
from contextiq.models.memories import Memory, MemoryPatch
from contextiq.stores.dynamo.base import PageTokens, loads_stored
from contextiq.stores.dynamo.memories import StoredMemory


class _RacyRepo:
    """A memory repository whose conditional writes lose ``losses`` races before one wins."""

    def __init__(self, losses: int) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        memory = Memory(
            id="m1", scope={"user_id": "u"}, fact="f", topics=[], metadata={}, create_time=now,
            update_time=now, event_time=now, version=1,
        )  # fmt: skip
        self.stored = StoredMemory("t", memory, [0.0] * 4, "hashing")
        self.losses = losses

    def get(self, tenant: str, memory_id: str) -> StoredMemory:
        return self.stored

    def put(self, tenant, memory, vector, model, revision, expected_version) -> None:  # type: ignore[no-untyped-def]
        if self.losses:
            self.losses -= 1
            raise VersionConflictError("lost")
        self.stored = StoredMemory(tenant, memory, list(vector), model)


def test_patch_without_if_match_keeps_retrying_onto_the_latest_version() -> None:
    from contextiq.ai.embedders.hashing import HashingEmbedder
    from contextiq.services.memories import MemoryService

    class _Index:
        def upsert(self, *a, **k) -> None: ...  # type: ignore[no-untyped-def]
        def delete(self, *a, **k) -> None: ...  # type: ignore[no-untyped-def]

    repo = _RacyRepo(losses=20)  # 20 concurrent writers: the last one loses up to 19 races
    service = MemoryService(repo, HashingEmbedder(dimensions=4), _Index(), sleep=lambda _s: None)  # type: ignore[arg-type]
    service._write_through = lambda stored: None  # type: ignore[method-assign]
    updated = service.update("t", "m1", MemoryPatch(fact="new"), "apikey:k")
    assert updated.fact == "new" and updated.version == 2 and repo.losses == 0


def test_page_tokens_round_trip_and_refuse_other_listings_and_keys() -> None:
    tokens = PageTokens(b"k" * 32)
    last = {"pk": {"S": "T#acme#S#1"}, "sk": {"S": "E#0000000003"}}
    token = tokens.encode(last, "listing-1")
    assert token and "acme" not in token
    assert tokens.decode(token, "listing-1", {"pk": "T#acme#S#1"}) == last
    for binding, codec in (("listing-2", tokens), ("listing-1", PageTokens(b"o" * 32))):
        with pytest.raises(InvalidInputError):
            codec.decode(token, binding, {})
    for forged in ("x", "A" * 40, "!!!", token[:-1]):
        with pytest.raises(InvalidInputError):
            tokens.decode(forged, "listing-1", {})


def test_stored_values_deeper_than_the_limit_are_clipped_not_lost() -> None:
    value: dict = {}
    for _ in range(100):
        value = {"a": value}
    clipped = loads_stored(json.dumps(value), max_depth=3)
    assert json.loads(clipped["a"]["a"]["a"]) == value["a"]["a"]["a"]
    assert loads_stored('{"x": [1, {"y": 2}]}') == {"x": [1, {"y": 2}]}


def test_each_invocation_logs_only_its_own_lambda_context() -> None:
    import io
    import logging

    from contextiq.local.workers import LambdaContextStub
    from contextiq.observability import logger, with_lambda_context

    logger.thread_safe_clear_keys()  # as a fresh request thread
    logger.remove_keys(["job_id", "function_name"])  # what an earlier test may have left process-wide
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)

    inside, release = threading.Event(), threading.Event()

    @with_lambda_context
    def worker(event: dict, context: object) -> None:
        logger.thread_safe_append_keys(job_id="job-of-the-worker")
        inside.set()
        release.wait(5)

    thread = threading.Thread(target=worker, args=({}, LambdaContextStub(function_name="consolidation")))
    thread.start()
    inside.wait(5)
    logger.error("an API error")  # another thread, while the worker's invocation is running
    release.set()
    thread.join()
    logging.getLogger(logger.name).removeHandler(handler)
    record = json.loads(out.getvalue().strip().splitlines()[-1])
    assert record["message"] == "an API error"
    assert "function_name" not in record and "job_id" not in record


def test_a_procedure_jobs_job_id_stays_in_its_own_thread() -> None:
    """The procedure-learning worker tagged its logs with ``logger.append_keys(job_id=...)``: process-wide,
    so locally (workers in threads of the API's process) every later API record carried that job_id."""
    import io
    import logging

    from contextiq.models.trajectories import ProcedureLearningMessage
    from contextiq.observability import logger
    from contextiq.services.procedure_jobs import ProcedureLearningWorker

    class NoJobs:
        def get(self, tenant: str, job_id: str) -> None:
            return None

    logger.thread_safe_clear_keys()
    logger.remove_keys(["job_id"])
    worker = ProcedureLearningWorker(NoJobs(), None, None)  # type: ignore[arg-type]
    message = ProcedureLearningMessage(tenant="tenant-a", job_id="job-of-the-worker")
    thread = threading.Thread(target=worker.handle, args=(message,))
    thread.start()
    thread.join()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    try:
        logger.error("an API error")
    finally:
        logging.getLogger(logger.name).removeHandler(handler)
        logger.remove_keys(["job_id"])
    record = json.loads(out.getvalue().strip().splitlines()[-1])
    assert record["message"] == "an API error" and "job_id" not in record


def test_no_handler_or_service_sets_process_wide_log_keys() -> None:
    """Powertools' inject_lambda_context and append_keys write keys every thread logs with; locally one
    process serves HTTP and runs the workers, so each invocation uses with_lambda_context and
    thread_safe_append_keys instead."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*(root / "functions").rglob("*.py"), *(root / "layers" / "core" / "python" / "contextiq").rglob("*.py")]
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sources
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "inject_lambda_context(" in line or "logger.append_keys(" in line
    ]
    assert found == []
