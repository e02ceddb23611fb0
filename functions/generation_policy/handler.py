"""Lambda: generation policies. Two event sources, one function (docs/generation-policies.md):

- the sessions table's DynamoDB stream (a second consumer beside the indexer): each session change may
  submit every_n_events jobs and arms an idle check;
- the generation-idle queue (SQS, delayed messages): an idle check that finds the session quiet submits
  one job for the events not yet generated.

Both report partial batch failures; a failing stream record is retried, bisected, then sent to the
function's on-failure queue; a failing idle check returns to its queue and after maxReceiveCount to its DLQ.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.stream_worker import batch_handler
from contextiq.models.pipeline import IdleCheckMessage, MalformedMessageError, parse_message
from contextiq.observability import logger
from contextiq.stores.dynamo.streams import parse_session_record

container = Container(get_settings())


def session_record(record: DynamoDBRecord) -> str:
    change = parse_session_record(record)
    if change is None:
        return "not a session"
    return container.policy_engine.on_session_change(change)


def idle_record(record: SQSRecord) -> str:
    try:
        message = parse_message(IdleCheckMessage, record.body)
    except MalformedMessageError as exc:  # retrying cannot help; the DLQ keeps it after its deliveries
        logger.error("malformed idle check", extra={"message_id": record.message_id, "error": str(exc)})
        raise
    return container.policy_engine.on_idle_check(message)


stream_handler = batch_handler(EventType.DynamoDBStreams, session_record)
queue_handler = batch_handler(EventType.SQS, idle_record)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or [{}]
    source = records[0].get("eventSource") or records[0].get("EventSource")
    if source == "aws:sqs":
        return queue_handler(event, context)
    return stream_handler(event, context)
