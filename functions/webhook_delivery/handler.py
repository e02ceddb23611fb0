"""Lambda: SQS FIFO webhook delivery queue -> one signed POST per message (docs/notifications.md).

Each receive is one attempt. A failed attempt sets the message's visibility to the next backoff delay
(ChangeMessageVisibility) and is reported failed (``batchItemFailures``), so SQS shows it again then. The
later messages of its group (webhook + resource) in the same batch are not tried: they are reported failed
with the same visibility, so they come back behind it, which keeps one memory's deliveries in version
order. On the last attempt the delivery is logged FAILED and the message is made visible at once, so SQS
moves it to the dead-letter queue (maxReceiveCount = WEBHOOK_MAX_ATTEMPTS).

The loop is written here rather than with Powertools' ``SqsFifoPartialProcessor`` because that one raises
when every record of a batch failed (failing the whole invocation) and does not let a failed group's later
messages share its backoff.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq import deadline
from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.models.pipeline import MalformedMessageError, parse_message
from contextiq.models.webhooks import DeliveryMessage
from contextiq.observability import logger, metrics, tracer, with_lambda_context

container = Container(get_settings())
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for ChangeMessageVisibility


def _later(record: dict[str, Any], seconds: float) -> None:
    container.sqs.change_message_visibility(
        QueueUrl=container.settings.webhook_delivery_queue_url,
        ReceiptHandle=record["receiptHandle"],
        VisibilityTimeout=max(0, min(int(seconds), MAX_VISIBILITY_SECONDS)),
    )


def deliver(record: dict[str, Any]) -> float | None:
    """None when the message is done with; else seconds until its next attempt."""
    attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    try:
        message = parse_message(DeliveryMessage, record["body"])
    except MalformedMessageError as exc:  # cannot succeed: straight on to the dead-letter queue
        logger.error("malformed webhook delivery message", extra={"message_id": record["messageId"], "error": str(exc)})
        return 0.0
    try:
        outcome = container.delivery_worker.deliver(message, attempt)
    except Exception:
        logger.exception("webhook delivery errored", extra={"webhook_id": message.webhook_id, "attempt": attempt})
        return container.delivery_worker.backoff_for(attempt)
    if outcome.settled:
        return None
    logger.warning(
        "webhook delivery failed",
        extra={"webhook_id": message.webhook_id, "event_id": message.event.id, "attempt": attempt,
               "outcome": outcome.status, "next_in": outcome.retry_in_seconds},
    )  # fmt: skip
    return outcome.retry_in_seconds


@with_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context)
    failures: list[dict[str, str]] = []
    held: dict[str, float] = {}  # message group -> the delay its failed message got
    for record in event.get("Records", []):
        group = record.get("attributes", {}).get("MessageGroupId", record["messageId"])
        delay = held[group] if group in held else deliver(record)
        if delay is None:
            continue
        held[group] = delay
        _later(record, delay)
        failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
