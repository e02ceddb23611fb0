"""Who is calling and what their key's role allows (RBAC: read < write < admin).

In the cloud, the Lambda REQUEST authorizer (``functions/authorizer``) has already resolved the key
against the hashed key table; API Gateway hands its answer to the function in
``requestContext.authorizer`` (cached per key for the stage's TTL), so the function does not look the
key up again. Locally (``contextiq local``, tests) there is no authorizer: the same key table is read
here. Either way the same rule decides what the role may do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contextiq.stores.dynamo.api_keys import Caller, Role

#: POST routes that only read (a search sends its query in the body).
READ_ONLY_POSTS: frozenset[str] = frozenset(
    {
        "/v1/memories/search",
        "/v1/events/search",
        "/v1/recall",
        "/v1/procedures/search",
        "/v1/trajectories/search",
        "/v1/context",
    }
)


#: Operations routes that need an ``admin`` key. Empty today: key management and reindexing are
#: operator scripts that run with IAM credentials (scripts/api_keys.py, scripts/reindex.py); the local
#: runtime's ``/_local/*`` helpers stay open to the keys ``contextiq local`` creates (write keys).
ADMIN_PREFIXES: tuple[str, ...] = ()


def required_role(method: str, path: str) -> Role:
    """``read`` for GET/HEAD and searches, ``admin`` for operations routes, ``write`` for the rest."""
    path = "/" + path.strip("/")
    if any(path.startswith(prefix) for prefix in ADMIN_PREFIXES):
        return "admin"
    if method.upper() in ("GET", "HEAD") or (method.upper() == "POST" and path in READ_ONLY_POSTS):
        return "read"
    return "write"


def authorizer_caller(scope: Mapping[str, Any]) -> Caller | None:
    """The caller the API Gateway authorizer resolved, from the Lambda event Mangum keeps in the scope."""
    event = scope.get("aws.event")
    if not isinstance(event, dict):
        return None
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    tenant, role = context.get("tenant"), context.get("role")
    if isinstance(tenant, str) and tenant and isinstance(role, str) and role:
        return Caller(tenant, str(context.get("key_id", "")), role, str(context.get("subject", "")))
    return None
