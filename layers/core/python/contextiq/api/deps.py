"""FastAPI dependencies: the container, the caller's tenant, page parameters, preconditions."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from contextiq import limits
from contextiq.container import Container
from contextiq.errors import FieldProblem, ForbiddenError, InvalidInputError


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_tenant(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias="x-api-key", include_in_schema=False)] = None,
) -> str:
    """The tenant is whoever owns the API key; nothing in the request body or path can change it."""
    if not x_api_key:
        raise ForbiddenError("missing x-api-key header")
    caller = get_container(request).api_keys.resolve_caller(x_api_key)
    if caller is None:
        raise ForbiddenError("unknown or revoked API key")
    request.state.tenant, request.state.actor = caller
    return caller[0]


def get_actor(request: Request, tenant: Annotated[str, Depends(get_tenant)]) -> str:
    """Who makes this change, as revisions record it: ``apikey:<key id>``."""
    return f"apikey:{request.state.actor}"


Tenant = Annotated[str, Depends(get_tenant)]
Actor = Annotated[str, Depends(get_actor)]
Services = Annotated[Container, Depends(get_container)]
Limit = Annotated[
    int,
    Query(ge=1, le=limits.MAX_PAGE_SIZE, description=f"page size, 1-{limits.MAX_PAGE_SIZE}"),
]
NextToken = Annotated[str | None, Query(max_length=2048, description="opaque token from the previous page")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="retry-safe POST: the first response is replayed"),
]

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` (or W/"3" or 3) -> 3; ``*`` or absent -> None (no precondition)."""
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value)
    if not match:
        raise InvalidInputError(
            'If-Match must be an ETag this API issued, e.g. "3"',
            [FieldProblem("header.If-Match", "not a version ETag")],
        )
    return int(match.group(1))


def etag(version: int) -> str:
    return f'"{version}"'
