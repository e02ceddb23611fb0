"""/v1/memories: long-term memories, their revisions, and search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import (
    Actor,
    IdempotencyKey,
    IfMatch,
    Limit,
    NextToken,
    Services,
    Tenant,
    etag,
    parse_if_match,
)
from contextiq.api.responses import respond, stored
from contextiq.errors import FieldProblem, InvalidInputError
from contextiq.models.common import NAME_PATTERN, Name, Page
from contextiq.models.memories import (
    Memory,
    MemoryCreate,
    MemoryPatch,
    Revision,
    SearchRequest,
    SearchResponse,
    validate_scope,
)

router = APIRouter(prefix="/v1/memories", tags=["memories"])
MEMORY_LINKS = {
    "getMemory": {"memory_id": "$response.body#/id"},
    "updateMemory": {"memory_id": "$response.body#/id"},
    "deleteMemory": {"memory_id": "$response.body#/id"},
    "listMemoryRevisions": {"memory_id": "$response.body#/id"},
}

# `?scope.user_id=u1&scope.app=travel`: an object parameter in form style, exploded, whose property
# names are the query parameter names (OpenAPI 3.1 `style: form, explode: true`).
SCOPE_QUERY_PARAMETER: dict[str, Any] = {
    "name": "scope",
    "in": "query",
    "required": True,
    "style": "form",
    "explode": True,
    "description": "The exact scope, one `scope.<key>=<value>` query parameter per key "
    f"({limits.MIN_SCOPE_KEYS}-{limits.MAX_SCOPE_KEYS} keys), e.g. `?scope.user_id=alice&scope.app=travel`.",
    "schema": {
        "type": "object",
        "minProperties": limits.MIN_SCOPE_KEYS,
        "maxProperties": limits.MAX_SCOPE_KEYS,
        "propertyNames": {
            "pattern": r"^scope\.[^#\x00-\x1f\x7f]{1," + str(limits.MAX_ID_LENGTH) + "}$",
        },
        "additionalProperties": {
            "type": "string",
            "minLength": 1,
            "maxLength": limits.MAX_ID_LENGTH,
            "pattern": NAME_PATTERN,
        },
    },
    "example": {"scope.user_id": "alice", "scope.app": "travel"},
}


def scope_from_query(request: Request, *filters: str) -> dict[str, str]:
    """``?scope.user_id=u1&scope.app=travel`` -> {"user_id": "u1", "app": "travel"} (validated like a body).

    In the document, the exploded ``scope`` object takes every query parameter the operation does not
    name otherwise, and its property names must start with ``scope.``: so any other parameter (a typo
    such as ``?user_id=``, which would silently widen nothing) is a 422 here, not ignored.
    """
    scope: dict[str, str] = {}
    named = {"limit", "next_token", *filters}
    for key, value in request.query_params.multi_items():
        if key not in named and not key.startswith("scope."):
            raise InvalidInputError(
                f"unknown query parameter {key!r}: give the scope as scope.<key>=<value>"
                + (f"; the filters are {', '.join(sorted(filters))}" if filters else ""),
                [FieldProblem(f"query.{key}", "unknown query parameter")],
            )
        if key.startswith("scope."):
            name = key[len("scope.") :]
            if name in scope:
                raise InvalidInputError(
                    f"scope key {name!r} is given twice", [FieldProblem(f"query.scope.{name}", "given twice")]
                )
            scope[name] = value
    try:
        return validate_scope(scope)
    except ValueError as err:
        raise InvalidInputError(
            f"give the scope as scope.<key>=<value> query parameters ({limits.MIN_SCOPE_KEYS} to "
            f"{limits.MAX_SCOPE_KEYS} keys, names and values 1-{limits.MAX_ID_LENGTH} characters, no '#' and "
            f"no control characters): {err}",
            [FieldProblem("query.scope", "missing or invalid scope")],
        ) from err


@router.post(
    "",
    response_model=Memory,
    **operation(
        "createMemory",
        "Create a memory",
        'Stores a fact in a scope (e.g. `{"user_id": "alice"}`), embeds it and indexes it; it is '
        "searchable when the call returns. The first revision records the caller.",
        status_code=201,
        errors=(409,),
        body=True,
        headers=("ETag", "Location", "Idempotent-Replayed"),
        links=MEMORY_LINKS,
    ),
)
def create_memory(
    body: MemoryCreate, tenant: Tenant, actor: Actor, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        memory = c.memories.create(tenant, body, actor)
        return stored(201, memory, {"ETag": etag(memory.version), "Location": f"/v1/memories/{memory.id}"})

    return respond(c, tenant, "POST /v1/memories", idempotency_key, body, action)


@router.get(
    "",
    response_model=Page[Memory],
    **operation(
        "listMemories",
        "List the memories of one scope",
        "The scope is given as `scope.<key>=<value>` query parameters; all of them together are the exact "
        "scope (a memory of `{user_id, app}` is not in the listing of `{user_id}`). Pass `next_token` from a "
        "page, with the same scope and `topic`, to get the next one.",
        extra_parameters=[SCOPE_QUERY_PARAMETER],
    ),
)
def list_memories(
    request: Request,
    tenant: Tenant,
    c: Services,
    topic: Annotated[Name | None, Query(description="only memories with this topic")] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Memory]:
    items, token = c.memories.list_scope(tenant, scope_from_query(request, "topic"), topic, limit, next_token)
    return Page[Memory](items=items, next_token=token)


@router.post(
    "/search",
    response_model=SearchResponse,
    **operation(
        "searchMemories",
        "Search one scope by meaning and keywords",
        "Hybrid (semantic + BM25, fused), semantic-only or keyword-only search within one exact scope, "
        "best first. Results are re-read from the record, so deleted or expired memories never appear.",
        body=True,
    ),
)
def search_memories(body: SearchRequest, tenant: Tenant, c: Services) -> SearchResponse:
    return c.memories.search(tenant, body)


@router.get(
    "/{memory_id}",
    response_model=Memory,
    **operation(
        "getMemory",
        "Get a memory",
        "The memory with its version (also in the `ETag` header). Deleted and expired memories are 404.",
        errors=(404,),
        headers=("ETag",),
    ),
)
def get_memory(memory_id: str, tenant: Tenant, c: Services, response: Response) -> Memory:
    memory = c.memories.get(tenant, memory_id)
    response.headers["ETag"] = etag(memory.version)
    return memory


@router.patch(
    "/{memory_id}",
    response_model=Memory,
    **operation(
        "updateMemory",
        "Change a memory's fact, topics or metadata",
        "Replaces the fields given. With `If-Match` only that version is changed (412 when stale); without "
        "it the change applies to the latest version (a lost race is retried). Each change adds a revision.",
        errors=(404, 409, 412),
        body=True,
        headers=("ETag",),
    ),
)
def patch_memory(
    memory_id: str,
    body: MemoryPatch,
    tenant: Tenant,
    actor: Actor,
    c: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Memory:
    memory = c.memories.update(tenant, memory_id, body, actor, parse_if_match(if_match))
    response.headers["ETag"] = etag(memory.version)
    return memory


@router.delete(
    "/{memory_id}",
    **operation(
        "deleteMemory",
        "Delete a memory",
        "The memory disappears from reads, listings and search at once; its revisions stay readable "
        "(the last one is DELETED). With `If-Match` only that version is deleted (412 when stale).",
        status_code=204,
        errors=(404, 409, 412),
    ),
)
def delete_memory(memory_id: str, tenant: Tenant, actor: Actor, c: Services, if_match: IfMatch = None) -> Response:
    c.memories.delete(tenant, memory_id, actor, parse_if_match(if_match))
    return Response(status_code=204)


@router.get(
    "/{memory_id}/revisions",
    response_model=Page[Revision],
    **operation(
        "listMemoryRevisions",
        "List every change of a memory, in order",
        "CREATED, UPDATED and DELETED revisions with the actor and the source events; readable after the "
        "memory was deleted. Pass `next_token` from a page to get the next one.",
        errors=(404,),
    ),
)
def list_revisions(
    memory_id: str,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.MAX_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Revision]:
    items, token = c.memories.revisions(tenant, memory_id, limit, next_token)
    return Page[Revision](items=items, next_token=token)
