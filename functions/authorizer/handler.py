"""Lambda: API Gateway REQUEST authorizer (x-api-key -> tenant and role from the hashed key table)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.authorizer import authorize
from contextiq.observability import logger

container = Container(get_settings())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, container.api_keys)
