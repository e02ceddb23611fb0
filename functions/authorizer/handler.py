"""Lambda: API Gateway REQUEST authorizer (x-api-key -> tenant and role from the hashed key table; plus the
end user's JWT on stages with a JWT issuer)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contextiq.config import get_settings
from contextiq.container import Container
from contextiq.handlers.authorizer import authorize
from contextiq.handlers.tokens import verifier_from_settings
from contextiq.observability import with_lambda_context

container = Container(get_settings())
tokens = verifier_from_settings(container.settings)  # keeps the issuer's JWKS warm between invocations


@with_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, container.api_keys, tokens)
