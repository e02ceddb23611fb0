"""DynamoDB stream entry point: Powertools batch processing with partial failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq import deadline
from contextiq.handlers.types import LambdaHandler
from contextiq.observability import metrics, tracer, with_lambda_context


def batch_handler(event_type: EventType, record_handler: Callable[[Any], Any]) -> LambdaHandler:
    """A handler that runs ``record_handler`` per record and reports only the failed ones for retry."""
    processor = BatchProcessor(event_type=event_type)

    @with_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline.start(context)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler
