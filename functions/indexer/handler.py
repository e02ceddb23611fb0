"""Lambda: DynamoDB streams of the memories and sessions tables -> vector index (versioned, idempotent).

Memory changes carry their vector; an event INSERT is embedded here; a session's delete or TTL expiry
(stream REMOVE of its event items) removes its events. Records are parsed once, in the store layer.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.stream_worker import batch_handler
from contextiq.services.indexing import apply_change
from contextiq.stores.dynamo.streams import EventChange, parse_stream_record

container = Container(get_settings())


def index_record(record: DynamoDBRecord) -> str:
    change = parse_stream_record(record)
    embedder = container.embedder if isinstance(change, EventChange) else None  # memories carry their vector
    return apply_change(container.vector_index, embedder, change, container.settings.events_opted_out)


handler: Any = batch_handler(EventType.DynamoDBStreams, index_record)
