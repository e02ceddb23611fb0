"""Lambda: SQS FIFO consolidation queue -> merge candidates into the scope's memories."""

from typing import Any

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import CONSOLIDATION_QUEUE
from contextiq.handlers.queue_worker import sqs_worker

container = Container(get_settings())
handler: Any = sqs_worker(
    CONSOLIDATION_QUEUE, lambda: container.jobs, lambda m: container.consolidation_worker.handle(m)
)
