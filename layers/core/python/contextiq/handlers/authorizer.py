"""API Gateway Lambda REQUEST authorizer: the ``x-api-key`` header -> tenant and role.

The key is looked up (SHA-256) in the api-keys table (``stores.dynamo.api_keys``). A known key gets an
``Allow`` policy for every method of the stage, so that API Gateway can reuse the cached answer (TTL per
stage, ``authorizer_cache_seconds``) for the key's other requests, and a context the functions read
(``tenant``, ``role``, ``key_id``; enforced by ``api.rbac``). An unknown or revoked key gets 401: the
authorizer raises ``Exception("Unauthorized")``, which API Gateway maps to 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contextiq.stores.dynamo.api_keys import ApiKeyStore

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


def authorize(event: dict[str, Any], keys: ApiKeyStore) -> dict[str, Any]:
    api_key = header(event, "x-api-key")
    caller = keys.resolve_caller(api_key) if api_key else None
    if caller is None:
        raise UnauthorizedError()
    return {
        "principalId": f"{caller.tenant}:{caller.key_id}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": stage_wide_resource(event["methodArn"]),
                }
            ],
        },
        "context": {"tenant": caller.tenant, "role": caller.role, "key_id": caller.key_id},
    }
