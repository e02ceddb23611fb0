"""Lambda: SQS FIFO procedure-learning queue -> distil trajectories, consolidate into the scope's procedures."""

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.definitions import PROCEDURE_LEARNING_QUEUE
from contextiq.handlers.queue_worker import sqs_worker
from contextiq.handlers.types import LambdaHandler
from contextiq.models.trajectories import ProcedureLearningMessage

container = Container(get_settings())
handler: LambdaHandler = sqs_worker(
    PROCEDURE_LEARNING_QUEUE, ProcedureLearningMessage, lambda: container.procedure_learning_worker
)
