"""SQS worker entry points: parse each record into its message model, run the domain worker, and give
up on a job (FAILED, with the reason) when its message can never succeed or on its last delivery;
SQS then moves the message to the dead-letter queue (the queue's redrive policy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from contextiq import deadline
from contextiq.definitions import QueueDef
from contextiq.handlers.types import LambdaHandler
from contextiq.models.pipeline import JobMessage, MalformedMessageError, parse_message
from contextiq.observability import logger, metrics, tracer, with_lambda_context

M = TypeVar("M", bound=JobMessage)
M_contra = TypeVar("M_contra", bound=JobMessage, contravariant=True)

# Seconds before the Lambda timeout at which the guard records the job's failure (one UpdateItem).
TIMEOUT_GUARD_SECONDS = 3.0


class QueueWorker(Protocol[M_contra]):
    def handle(self, message: M_contra) -> str: ...
    def fail(self, tenant: str, job_id: str, reason: str) -> None: ...


def _job_of(body: str) -> JobMessage | None:
    """Which job a malformed body is about, if it says so clearly enough."""
    try:
        return JobMessage.model_validate_json(body)
    except ValidationError:
        return None


def sqs_worker(queue: QueueDef, message_type: type[M], worker: Callable[[], QueueWorker[M]]) -> LambdaHandler:
    """FIFO queues stop at the first failure of a group (order matters there); standard ones do not.

    ``worker`` is called on first use, so a function's cold start does not build what it may not need.
    """
    processor = (
        SqsFifoPartialProcessor(skip_group_on_error=True) if queue.fifo else BatchProcessor(event_type=EventType.SQS)
    )

    def give_up(job: JobMessage | None, reason: str) -> None:
        if job is not None:
            worker().fail(job.tenant, job.job_id, reason)

    def record_handler(record: SQSRecord) -> str:
        try:
            message = parse_message(message_type, record.body)
        except MalformedMessageError as exc:
            # Retrying cannot help: fail the job now; the message reaches the DLQ after its deliveries.
            job = _job_of(record.body)
            logger.error(
                "malformed message",
                extra={"message_id": record.message_id, "job_id": job and job.job_id, "error": str(exc)},
            )
            give_up(job, str(exc))
            raise
        receives = int(record.attributes.approximate_receive_count or 1)

        def on_timeout() -> None:
            # Lambda kills a timed-out invocation without running the except below: record it now.
            if receives >= queue.max_receive_count:
                reason = (
                    f"timed out: the {queue.logical_id} worker reached its Lambda timeout on delivery "
                    f"{receives} of {queue.max_receive_count} (no retry left)"
                )
                give_up(message, reason)
            else:
                logger.warning("about to time out; the message will be redelivered", extra={"receive_count": receives})

        try:
            with deadline.TimeoutGuard(on_timeout, margin=TIMEOUT_GUARD_SECONDS):
                outcome = worker().handle(message)
        except MalformedMessageError as exc:  # e.g. the job's stored spec
            logger.error("malformed job input", extra={"job_id": message.job_id, "error": str(exc)})
            give_up(message, str(exc))
            raise
        except Exception as exc:
            logger.exception("message failed", extra={"receive_count": receives, "job_id": message.job_id})
            if receives >= queue.max_receive_count:
                give_up(message, f"{type(exc).__name__}: {exc} (after {receives} deliveries)")
            raise
        logger.info("message done", extra={"outcome": outcome, "job_id": message.job_id})
        return outcome

    @with_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline.start(context)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler
