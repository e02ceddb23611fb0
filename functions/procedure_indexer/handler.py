"""Lambda: DynamoDB stream of the procedures table -> vector index (procedures and trajectories)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.stream_worker import batch_handler
from contextiq.services.procedure_indexing import apply_procedure_stream_record

container = Container(get_settings())


def index_record(record: DynamoDBRecord) -> str:
    return apply_procedure_stream_record(container.vector_index, record.raw_event)


handler: Any = batch_handler(EventType.DynamoDBStreams, index_record)
