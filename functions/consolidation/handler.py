"""Lambda: SQS FIFO consolidation queue -> merge candidates into the scope's memories."""

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import CONSOLIDATION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker
from contextiq.handlers.types import LambdaHandler
from contextiq.models.pipeline import ConsolidationMessage

container = Container(get_settings())
handler: LambdaHandler = sqs_worker(CONSOLIDATION_QUEUE, ConsolidationMessage, lambda: container.consolidation_worker)
