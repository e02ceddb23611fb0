"""Lambda: DynamoDB streams of the memories and sessions tables -> vector index (versioned, idempotent).

Memory changes carry their vector; an event INSERT is embedded here; a session's delete or TTL expiry
(stream REMOVE of its event items) removes its events. An app's events are skipped when the operator or the
tenant (``index_events: false`` on the app's policy) opted it out, and removed when the tenant turns that on
(services/event_opt_out.py). Records are parsed once, in the store layer.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.stream_worker import batch_handler
from contextiq.services.event_opt_out import apply_app_index_change
from contextiq.services.indexing import apply_change
from contextiq.stores.dynamo.streams import EventChange, parse_app_index_record, parse_stream_record

container = Container(get_settings())


def index_record(record: DynamoDBRecord) -> str:
    app_change = parse_app_index_record(record)
    if app_change is not None:  # a tenant turned an app's event indexing off or on
        return apply_app_index_change(
            app_change, container.event_opt_out, container.vector_index, container.session_store.scan_app_events
        )
    change = parse_stream_record(record)
    embedder = container.embedder if isinstance(change, EventChange) else None  # memories carry their vector
    return apply_change(container.vector_index, embedder, change, container.event_opt_out)


handler: Any = batch_handler(EventType.DynamoDBStreams, index_record)
