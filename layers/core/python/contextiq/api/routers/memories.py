"""/v1/memories: long-term memories, their revisions, and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.deps import (
    Actor,
    IdempotencyKey,
    Limit,
    NextToken,
    Services,
    Tenant,
    etag,
    parse_if_match,
)
from contextiq.api.problems import problem_responses
from contextiq.api.responses import respond, stored
from contextiq.errors import FieldProblem, InvalidInputError
from contextiq.models.common import Name, Page
from contextiq.models.memories import (
    Memory,
    MemoryCreate,
    MemoryPatch,
    Revision,
    SearchRequest,
    SearchResponse,
)

ERRORS = problem_responses(400, 403, 404, 409, 412, 413, 422)
router = APIRouter(prefix="/v1/memories", tags=["memories"], responses=ERRORS)
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the version ETag, e.g. "3"')]


def scope_from_query(request: Request) -> dict[str, str]:
    """``?scope.user_id=u1&scope.app=travel`` -> {"user_id": "u1", "app": "travel"} (validated like a body)."""
    scope = {k[len("scope.") :]: v for k, v in request.query_params.items() if k.startswith("scope.")}
    try:
        return SearchRequest.model_validate({"scope": scope, "query": "-"}).scope
    except Exception as err:
        raise InvalidInputError(
            f"give the scope as scope.<key>=<value> query parameters (1 to {limits.MAX_SCOPE_KEYS} keys, "
            f"names and values up to {limits.MAX_ID_LENGTH} characters, no '#')",
            [FieldProblem("query.scope", "missing or invalid scope")],
        ) from err


@router.post("", status_code=201, response_model=Memory, summary="Create a memory")
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
    summary="List the memories of one scope",
    description="The scope is given as `scope.<key>=<value>` query parameters; all keys = the exact scope.",
)
def list_memories(
    request: Request,
    tenant: Tenant,
    c: Services,
    topic: Annotated[Name | None, Query()] = None,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Memory]:
    items, token = c.memories.list_scope(tenant, scope_from_query(request), topic, limit, next_token)
    return Page[Memory](items=items, next_token=token)


@router.post("/search", response_model=SearchResponse, summary="Search one scope by meaning and keywords")
def search_memories(body: SearchRequest, tenant: Tenant, c: Services) -> SearchResponse:
    return c.memories.search(tenant, body)


@router.get("/{memory_id}", response_model=Memory, summary="Get a memory")
def get_memory(memory_id: str, tenant: Tenant, c: Services, response: Response) -> Memory:
    memory = c.memories.get(tenant, memory_id)
    response.headers["ETag"] = etag(memory.version)
    return memory


@router.patch("/{memory_id}", response_model=Memory, summary="Change a memory's fact, topics or metadata")
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


@router.delete("/{memory_id}", status_code=204, summary="Delete a memory (its revisions stay readable)")
def delete_memory(memory_id: str, tenant: Tenant, actor: Actor, c: Services, if_match: IfMatch = None) -> Response:
    c.memories.delete(tenant, memory_id, actor, parse_if_match(if_match))
    return Response(status_code=204)


@router.get("/{memory_id}/revisions", response_model=Page[Revision], summary="Every change of a memory, in order")
def list_revisions(
    memory_id: str,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.MAX_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Revision]:
    items, token = c.memories.revisions(tenant, memory_id, limit, next_token)
    return Page[Revision](items=items, next_token=token)
