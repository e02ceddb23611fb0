"""HTTP functions: one resource's FastAPI router wrapped by Mangum, with Powertools around it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import APIRouter
from mangum import Mangum

from contextiq import deadline
from contextiq.api.app import create_app
from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.types import LambdaHandler
from contextiq.observability import metrics, tracer, with_lambda_context


def http_handler(routers: Sequence[APIRouter]) -> LambdaHandler:
    """Build the app at import (cold start) so warm invocations only route and run."""
    container = Container(get_settings())
    app = create_app(container, routers)
    # Without problem+json here Mangum base64-encodes every error body (it is not in its text list).
    asgi = Mangum(
        app,
        lifespan="off",
        api_gateway_base_path="/",
        text_mime_types=["application/json", "application/problem+json", "text/markdown"],
    )

    @with_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline.start(context)
        container.idempotency.register_lambda_context(context)
        response: dict[str, Any] = asgi(event, context)  # type: ignore[arg-type]
        return response

    return handler
