"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from contextiq.errors import ContextIQError, FieldProblem
from contextiq.stores.vector.base import IndexMismatchError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://contextiq.dev/problems/"

STATUS_BY_CODE = {
    "not-found": 404,
    "conflict": 409,
    "precondition-failed": 412,
    "payload-too-large": 413,
    "invalid-input": 422,
    "forbidden": 403,
    "malformed-request": 400,
    "internal": 500,
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = []


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: these statuses answer application/problem+json."""
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in statuses}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + code,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=[FieldError(field=e.field, message=e.message) for e in errors or []],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "body"
    head, *rest = loc
    parts = [str(p) for p in rest]
    if head == "body":
        return ".".join(parts) or "body"
    if head in ("query", "path", "header"):
        return f"{head}.{'.'.join(parts)}"
    return ".".join(str(p) for p in loc)


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        detail = (first.get("ctx") or {}).get("error") or first.get("msg", "invalid JSON")
        return problem_response(
            400,
            "malformed-request",
            "Malformed request",
            f"the body is not valid JSON: {detail}",
            instance=request.url.path,
        )
    problems = [FieldProblem(_field_path(tuple(e.get("loc", ()))), e.get("msg", "invalid")) for e in errors]
    fields = ", ".join(sorted({p.field for p in problems}))
    return problem_response(
        422,
        "invalid-input",
        "Invalid input",
        f"invalid fields: {fields}",
        problems,
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ContextIQError)
    async def _domain(request: Request, exc: ContextIQError) -> JSONResponse:
        status = STATUS_BY_CODE.get(exc.code, 500)
        return problem_response(status, exc.code, exc.title, exc.detail, exc.errors, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(request, exc)

    @app.exception_handler(IndexMismatchError)
    async def _index_mismatch(request: Request, exc: IndexMismatchError) -> JSONResponse:
        # a deployment problem, not the caller's: the index holds another embedding model's vectors
        return problem_response(
            503,
            "index-mismatch",
            "Vector index needs a rebuild",
            f"{exc} (run scripts/reindex.py --reembed)",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request.url.path))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            return problem_response(
                405,
                "method-not-allowed",
                "Method not allowed",
                f"{request.method} is not allowed on this path; it allows {allow}",
                instance=request.url.path,
                headers={"Allow": allow},
            )
        titles = {404: "Not found", 405: "Method not allowed"}
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(
            exc.status_code,
            code,
            titles.get(exc.status_code, "HTTP error"),
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )


@lru_cache(maxsize=1)
def _path_methods() -> list[tuple[re.Pattern[str], tuple[bool, ...], frozenset[str]]]:
    from contextiq.api.openapi import full_openapi

    table = []
    paths = {"/openapi.json": {"get": {}}, **full_openapi()["paths"]}  # FastAPI's own route is not in its document
    for template, item in paths.items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
        parameters = tuple(segment.startswith("{") for segment in template.split("/"))
        table.append((pattern, parameters, frozenset(m.upper() for m in item)))
    return table


def allowed_methods(path: str) -> list[str]:
    """Every method the API serves on ``path`` (Starlette's 405 names only one route's), from the
    OpenAPI document: each Lambda mounts one router, but a client sees the whole API.

    When several templates match, the one API Gateway would pick answers: a literal segment beats a
    path parameter, from left to right (``/v1/memories/search`` is its own resource in the cloud, not a
    ``{memory_id}``), so ``Allow`` is the same locally and behind API Gateway (docs/infrastructure.md)."""
    matches = [(parameters, found) for pattern, parameters, found in _path_methods() if pattern.match(path)]
    methods = {"OPTIONS"}
    if matches:
        methods |= min(matches, key=lambda match: match[0])[1]
    return sorted(methods)


def install_fallback_handler(app: FastAPI) -> None:
    """Unexpected errors: log with the stack, answer a problem without internals."""
    from contextiq.observability import logger

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            500,
            "internal",
            "Internal error",
            "an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
