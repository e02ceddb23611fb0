"""Lambda: SQS extraction queue -> extract candidate facts -> FIFO consolidation queue."""

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import EXTRACTION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker
from contextiq.handlers.types import LambdaHandler
from contextiq.models.pipeline import ExtractionMessage

container = Container(get_settings())
handler: LambdaHandler = sqs_worker(EXTRACTION_QUEUE, ExtractionMessage, lambda: container.extraction_worker)
