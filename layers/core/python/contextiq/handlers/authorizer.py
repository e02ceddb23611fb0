"""API Gateway Lambda REQUEST authorizer: the ``x-api-key`` header -> tenant and role.

The key is looked up (SHA-256) in the api-keys table (``stores.dynamo.api_keys``). A known key gets an
``Allow`` policy for every method of the stage, so that API Gateway can reuse the cached answer (TTL per
stage, ``authorizer_cache_seconds``) for the key's other requests, and a context the functions read
(``tenant``, ``role``, ``key_id``; enforced by ``api.rbac``). An unknown or revoked key gets 401: the
authorizer raises ``Exception("Unauthorized")``, which API Gateway maps to 401.

On a stage with a JWT issuer (``JwtAuthConfig`` in ``infra/stages.py``), a request also needs
``Authorization: Bearer <JWT>`` of a signed-in end user (``handlers.tokens``): the token names the tenant,
the role and the user (``subject``). The key still has to be live (the usage plan meters it, and revoking
it cuts its application off); its tenant must be the token's (otherwise 403), and its role caps the
token's. API Gateway caches the answer per (key, token) pair.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contextiq.handlers.tokens import InvalidTokenError, TokenVerifier, bearer_token
from contextiq.observability import logger
from contextiq.stores.dynamo.api_keys import ROLES, ApiKeyStore

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class UnauthorizedError(Exception):
    """API Gateway turns an authorizer error with exactly this message into a 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def stage_wide_resource(method_arn: str) -> str:
    """``arn:aws:execute-api:r:a:api/stage/GET/v1/x`` -> ``arn:aws:execute-api:r:a:api/stage/*/*``."""
    prefix, _, path = method_arn.partition(":execute-api:")
    api_id, stage = path.split("/")[:2]
    return f"{prefix}:execute-api:{api_id}/{stage}/*/*"


def header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and isinstance(value, str) and value:
            return value
    return None


def _policy(event: dict[str, Any], effect: str, principal: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": stage_wide_resource(event["methodArn"])}
            ],
        },
        "context": context,
    }


def authorize(event: dict[str, Any], keys: ApiKeyStore, tokens: TokenVerifier | None = None) -> dict[str, Any]:
    api_key = header(event, "x-api-key")
    caller = keys.resolve_caller(api_key) if api_key else None
    if caller is None:
        raise UnauthorizedError()
    context = {"tenant": caller.tenant, "role": caller.role, "key_id": caller.key_id}
    if tokens is None:
        return _policy(event, "Allow", f"{caller.tenant}:{caller.key_id}", context)
    token = bearer_token(header(event, "authorization"))
    if token is None or caller.role not in ROLES:
        raise UnauthorizedError()
    try:
        user = tokens.verify(token)
    except InvalidTokenError as error:
        logger.info("bearer token refused", extra={"reason": error.reason, "key_id": caller.key_id})
        raise UnauthorizedError() from None
    principal = f"{user.tenant}:{user.subject}"
    if user.tenant != caller.tenant:
        logger.info("token tenant differs from the key's", extra={"key_id": caller.key_id})
        return _policy(event, "Deny", principal, {})
    role = ROLES[min(ROLES.index(user.role), ROLES.index(caller.role))]
    return _policy(event, "Allow", principal, {**context, "role": role, "subject": user.subject})
