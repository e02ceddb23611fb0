"""Lambda: SQS FIFO procedure-learning queue -> distil trajectories, consolidate into the scope's procedures."""

from typing import Any

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import PROCEDURE_LEARNING_QUEUE
from contextiq.handlers.queue_worker import sqs_worker

container = Container(get_settings())
handler: Any = sqs_worker(
    PROCEDURE_LEARNING_QUEUE, lambda: container.jobs, lambda m: container.procedure_learning_worker.handle(m)
)
