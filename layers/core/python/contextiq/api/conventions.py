"""The API's conventions in one place, so a new route gets them by calling :func:`operation`.

Every operation has a stable camelCase ``operationId`` (SDK method names are built from it), a summary
and a description; answers its errors as RFC 9457 ``application/problem+json``; documents the
headers it sends (``ETag``, ``Location``) and the links a client (or a stateful test) can follow.

    @router.post("", response_model=Session, **operation(
        "createSession", "Create a session", "...", status_code=201, errors=(409,), body=True,
        headers=("ETag", "Location"), links={"getSession": {"session_id": "$response.body#/id"}},
    ))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from contextiq.api.problems import Problem

# Every operation can answer these: malformed body or parameters, a bad API key, throttling (the API
# Gateway usage plan), and an internal or deployment error.
ALWAYS = (400, 403, 422, 429, 500, 503)
# With a request body (413 is also possible on any request with a Content-Length over the limit,
# but only operations that take a body document it).
WITH_BODY = (413,)

STATUS_TEXT = {
    400: "Malformed request: the body is not UTF-8 JSON, or a header or parameter cannot be parsed",
    403: "Missing, unknown or revoked API key",
    404: "Not found (also for another tenant's ids)",
    409: "Conflict: the resource changed concurrently, or an Idempotency-Key request is still in progress",
    412: "Precondition failed: If-Match names a version that is no longer current",
    413: "Payload too large",
    422: "Invalid input: `errors` names each field and the reason",
    429: "Too many requests (the usage plan's rate or quota)",
    500: "Internal error (logged with the request id)",
    503: "The service cannot answer now (e.g. the vector index needs a rebuild)",
}

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The resource's version; send it back in `If-Match` to change only that version.",
        "schema": {"type": "string", "pattern": r'^"[0-9]+"$'},
        "example": '"3"',
    },
    "Location": {
        "description": "Where the created resource (or the job) can be read.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the replay of an earlier request with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Allow": {
        "description": "The methods the path supports.",
        "schema": {"type": "string"},
    },
}

_OPERATION_ID = re.compile(r"^[a-z][A-Za-z0-9]+$")


def operation(
    operation_id: str,
    summary: str,
    description: str,
    *,
    status_code: int = 200,
    errors: Iterable[int] = (),
    body: bool = False,
    headers: Iterable[str] = (),
    links: Mapping[str, Mapping[str, str]] | None = None,
    extra_parameters: list[dict[str, Any]] | None = None,
    responses: Mapping[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``@router.<method>(path, ...)``.

    ``errors``: the statuses this operation answers besides those of :data:`ALWAYS`; ``body``: it takes a
    request body (adds 413); ``headers``: response headers of the success answer (keys of
    :data:`RESPONSE_HEADERS`); ``links``: ``{operationId: {parameter: runtime expression}}``.
    """
    if not _OPERATION_ID.match(operation_id):
        raise ValueError(f"operationId {operation_id!r} must be camelCase")
    statuses = sorted(set(ALWAYS) | set(errors) | (set(WITH_BODY) if body else set()))
    all_responses: dict[int | str, dict[str, Any]] = {
        s: {"model": Problem, "description": STATUS_TEXT[s]} for s in statuses
    }
    for status, response in (responses or {}).items():
        all_responses[status] = response
    success: dict[str, Any] = {}
    if headers:
        success["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    if links:
        success["links"] = {
            f"{target[0].upper()}{target[1:]}": {"operationId": target, "parameters": dict(params)}
            for target, params in links.items()
        }
    extra: dict[str, Any] = {}
    if success:
        extra["responses"] = {str(status_code): success}
    if extra_parameters:
        extra["parameters"] = extra_parameters
    return {
        "operation_id": operation_id,
        "summary": summary,
        "description": description,
        "status_code": status_code,
        "responses": all_responses,
        "openapi_extra": extra or None,
    }
