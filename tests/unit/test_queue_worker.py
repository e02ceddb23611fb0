"""The SQS entry point: typed parsing, partial batch failures, and when a job is given up on."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from contextiq.definitions import EXTRACTION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker
from contextiq.local.workers import LambdaContextStub
from contextiq.models.pipeline import ConsolidationMessage, ExtractionMessage


class RecordingWorker:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.handled: list[ExtractionMessage] = []
        self.failed: list[tuple[str, str, str]] = []

    def handle(self, message: ExtractionMessage) -> str:
        self.handled.append(message)
        if self.error:
            raise self.error
        return "ok"

    def fail(self, tenant: str, job_id: str, reason: str) -> None:
        self.failed.append((tenant, job_id, reason))


def _event(*records: tuple[str, int]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receives), "MessageGroupId": "g"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
                "awsRegion": "us-east-1",
            }
            for i, (body, receives) in enumerate(records)
        ]
    }


def _run(worker: RecordingWorker, *records: tuple[str, int], message_type: type = ExtractionMessage) -> list[str]:
    """The failed message ids ("all": Powertools fails the whole invocation when every record failed)."""
    handler = sqs_worker(EXTRACTION_QUEUE, message_type, lambda: worker)
    try:
        result = handler(_event(*records), LambdaContextStub("extraction"))  # type: ignore[arg-type]
    except BatchProcessingError:
        return ["all"]
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


GOOD = json.dumps({"tenant": "t", "job_id": "j"})


def test_a_valid_batch_is_handled_typed() -> None:
    worker = RecordingWorker()
    assert _run(worker, (GOOD, 1), (json.dumps({"tenant": "t", "job_id": "k", "later": 1}), 1)) == []
    assert [m.job_id for m in worker.handled] == ["j", "k"] and worker.failed == []


def test_a_failing_message_gives_up_on_its_job_only_on_its_last_delivery() -> None:
    worker = RecordingWorker(TimeoutError("model slow"))
    assert _run(worker, (GOOD, EXTRACTION_QUEUE.max_receive_count - 1)) == ["all"]
    assert worker.failed == []
    assert _run(worker, (GOOD, EXTRACTION_QUEUE.max_receive_count)) == ["all"]
    deliveries = EXTRACTION_QUEUE.max_receive_count
    assert worker.failed == [("t", "j", f"TimeoutError: model slow (after {deliveries} deliveries)")]


def test_a_malformed_message_fails_at_once_and_is_never_handled() -> None:
    worker = RecordingWorker()
    unnamed = json.dumps({"tenant": "t"})
    assert _run(worker, ("{not json", 1), (unnamed, 1), (GOOD, 1)) == ["m0", "m1"]
    assert [m.job_id for m in worker.handled] == ["j"]
    assert worker.failed == []  # neither body says which job it is about


def test_a_malformed_message_that_names_its_job_fails_that_job_at_once() -> None:
    worker = RecordingWorker()
    named = json.dumps({"tenant": "t", "job_id": "j", "part": "first"})
    assert _run(worker, (named, 1), message_type=ConsolidationMessage) == ["all"]
    ((tenant, job_id, reason),) = worker.failed
    assert (tenant, job_id) == ("t", "j") and reason.startswith("malformed ConsolidationMessage: part:")
    assert worker.handled == []
