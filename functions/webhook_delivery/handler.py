"""Lambda: SQS FIFO webhook delivery queue -> one signed POST per message (docs/notifications.md).

Each receive is one attempt. A failed attempt sets the message's visibility to the next backoff delay
(ChangeMessageVisibility) and is reported failed, so SQS shows it again then; its group (webhook +
resource) waits meanwhile, which keeps one memory's deliveries in version order. On the last attempt the
delivery is logged FAILED and the message is made visible at once, so SQS moves it to the dead-letter queue.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq import deadline
from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.models.pipeline import parse_message
from contextiq.models.webhooks import DeliveryMessage
from contextiq.observability import logger, metrics, tracer, with_lambda_context

container = Container(get_settings())
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for ChangeMessageVisibility


class DeliveryFailedError(Exception):
    """This attempt failed; SQS shows the message again after the backoff (or dead-letters it)."""


def deliver_record(record: SQSRecord) -> str:
    message = parse_message(DeliveryMessage, record.body)
    attempt = int(record.attributes.approximate_receive_count or 1)
    outcome = container.delivery_worker.deliver(message, attempt)
    if outcome.settled:
        return outcome.status
    delay = min(int(outcome.retry_in_seconds), MAX_VISIBILITY_SECONDS) if outcome.status == "retry" else 0
    container.sqs.change_message_visibility(
        QueueUrl=container.settings.webhook_delivery_queue_url,
        ReceiptHandle=record.receipt_handle,
        VisibilityTimeout=delay,
    )
    logger.warning(
        "webhook delivery failed",
        extra={"webhook_id": message.webhook_id, "event_id": message.event.id, "attempt": attempt, "next_in": delay},
    )
    raise DeliveryFailedError(f"{outcome.status} after attempt {attempt}")


@with_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context)
    return dict(process_partial_response(event=event, record_handler=deliver_record, processor=processor, context=context))
