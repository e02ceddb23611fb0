"""FastAPI dependencies: the container, the caller's tenant, page parameters, preconditions."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from contextiq import limits
from contextiq.api.rbac import authorizer_caller, required_role
from contextiq.container import Container
from contextiq.errors import FieldProblem, ForbiddenError, InvalidInputError
from contextiq.stores.dynamo.api_keys import role_allows


# The dependencies are coroutines: FastAPI runs a plain function dependency on its worker thread pool,
# one thread hand-off per dependency per request; these are quick (the key lookup is cached), so they run
# on the event loop (see docs/local-runtime.md, throughput).
async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_tenant(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias="x-api-key", include_in_schema=False)] = None,
) -> str:
    """The tenant is whoever owns the API key; nothing in the request body or path can change it.

    The key's role must allow the request (``api.rbac``): a ``read`` key cannot change data.
    """
    caller = authorizer_caller(request.scope)
    if caller is None:
        if not x_api_key:
            raise ForbiddenError("missing x-api-key header")
        container: Container = request.app.state.container
        caller = container.api_keys.resolve_caller(x_api_key)
        if caller is None:
            raise ForbiddenError("unknown or revoked API key")
    needed = required_role(request.method, request.url.path)
    if not role_allows(caller.role, needed):
        raise ForbiddenError(
            f"this API key has role {caller.role!r}; {request.method} {request.url.path} needs {needed!r}"
        )
    request.state.tenant = caller.tenant
    request.state.actor = f"user:{caller.subject}" if caller.subject else f"apikey:{caller.key_id}"
    return caller.tenant


async def get_actor(request: Request, tenant: Annotated[str, Depends(get_tenant)]) -> str:
    """Who makes this change, as revisions record it: ``apikey:<key id>``, or ``user:<JWT sub>`` when the
    stage's JWT authorizer identified a signed-in end user."""
    actor: str = request.state.actor
    return actor


Tenant = Annotated[str, Depends(get_tenant)]
Actor = Annotated[str, Depends(get_actor)]
Services = Annotated[Container, Depends(get_container)]
Limit = Annotated[
    int,
    Query(ge=1, le=limits.MAX_PAGE_SIZE, description=f"page size, 1-{limits.MAX_PAGE_SIZE}"),
]
NextToken = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=limits.MAX_PAGE_TOKEN_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the opaque `next_token` of the previous page of the same listing (same filters)",
    ),
]
IDEMPOTENCY_KEY_PATTERN = rf"^[\x21-\x7e]{{1,{limits.MAX_IDEMPOTENCY_KEY_LENGTH}}}$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Makes the POST retry-safe: within an hour, a request with the same key and the same body "
        "replays the first answer (with `Idempotent-Replayed: true`) and writes nothing; the same key with "
        f"another body is a 422. 1-{limits.MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters, e.g. a UUID.",
        examples=["5f0c2a8e-7d1b-4c55-9f43-2b1e8d1c9a10"],
    ),
]
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,15}"|[0-9]{1,15})$'
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='Apply the change only to this version (the `ETag` of a read, e.g. `"3"`); a stale version '
        "answers 412. Without it (or with `*`) the change applies to the latest version.",
        examples=['"3"'],
    ),
]

_ETAG = re.compile(r'^(?:W/)?"?([0-9]+)"?$')


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` (or W/"3" or 3) -> 3; ``*`` or absent -> None (no precondition)."""
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidInputError(
            'If-Match must be an ETag this API issued, e.g. "3"',
            [FieldProblem("header.If-Match", "not a version ETag")],
        )
    return int(match.group(1))


def etag(version: int) -> str:
    return f'"{version}"'
