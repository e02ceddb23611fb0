"""Lambda: DynamoDB streams of the memories, procedures and jobs tables -> change events.

Each committed change becomes a ``ChangeEvent`` (stores/dynamo/change_streams.py), put on the stage's
EventBridge bus and queued for every matching webhook. A record that fails is reported alone (partial
batch response) and retried; its event id stays the same, so a retry is harmless (docs/notifications.md).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.stream_worker import batch_handler
from contextiq.stores.dynamo.change_streams import change_events

container = Container(get_settings())


def notify_record(record: DynamoDBRecord) -> str:
    events = change_events(record.raw_event)
    queued = container.notifier.announce(events)
    return f"{len(events)} event(s), {queued} webhook deliveries"


handler: Any = batch_handler(EventType.DynamoDBStreams, notify_record)
