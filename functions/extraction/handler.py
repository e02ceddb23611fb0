"""Lambda: SQS extraction queue -> extract candidate facts -> FIFO consolidation queue."""

from typing import Any

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import EXTRACTION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker

container = Container(get_settings())
handler: Any = sqs_worker(EXTRACTION_QUEUE, lambda: container.jobs, lambda m: container.extraction_worker.handle(m))
