"""SQS worker entry points: parse each record, run the domain worker, and on a message's last
delivery mark its job FAILED (with the reason) before it goes to the dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq.definitions import QueueDef
from contextiq.observability import logger, metrics, tracer
from contextiq.services.generation import fail_job
from contextiq.stores.dynamo.jobs import JobStore

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def sqs_worker(queue: QueueDef, jobs: Callable[[], JobStore], work: Callable[[dict[str, Any]], str]) -> LambdaHandler:
    """FIFO queues stop at the first failure of a group (order matters there); standard ones do not."""
    processor = (
        SqsFifoPartialProcessor(skip_group_on_error=True) if queue.fifo else BatchProcessor(event_type=EventType.SQS)
    )

    def record_handler(record: SQSRecord) -> str:
        try:
            message = json.loads(record.body)
            if not isinstance(message, dict):
                raise ValueError("message body is not a JSON object")
        except ValueError:
            logger.error("poison message: not JSON", extra={"message_id": record.message_id})
            raise
        try:
            outcome = work(message)
        except Exception as exc:
            receives = int(record.attributes.approximate_receive_count or 1)
            logger.exception("message failed", extra={"receive_count": receives, "job_id": message.get("job_id")})
            if receives >= queue.max_receive_count:
                fail_job(jobs(), message, f"{type(exc).__name__}: {exc} (after {receives} deliveries)")
            raise
        logger.info("message done", extra={"outcome": outcome, "job_id": message.get("job_id")})
        return outcome

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler
