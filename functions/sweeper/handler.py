"""Lambda (EventBridge schedule): fail generation jobs stuck PENDING/RUNNING past the pipeline's longest run."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq import deadline
from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.observability import logger, metrics, tracer, with_lambda_context
from contextiq.services.job_sweeper import sweep_stale_jobs

container = Container(get_settings())


@with_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    deadline.start(context)
    result = sweep_stale_jobs(container.jobs)
    logger.info("stale jobs swept", extra=result)
    return result
