"""Request bodies are read whole and checked before any route sees them (and logs get the request's keys).

- Over ``MAX_REQUEST_BODY_BYTES`` (declared or streamed, e.g. chunked): 413.
- A JSON body must be UTF-8 (400 naming the byte), nest at most ``MAX_JSON_DEPTH`` levels, hold only
  finite numbers (``NaN``, ``Infinity`` and ``1e400`` would be stored as ``null``) and integers of at
  most ``MAX_INTEGER_DIGITS`` digits, and no lone surrogate (``"\\ud800"`` cannot be encoded as UTF-8)
  in a string or a key: else 422 naming each place (``state.a.b``, ``content.parts.0.text``).

Pydantic validates each route's fields afterwards; these rules hold for every field of every route,
including free-form ones (``state``, ``metadata``, ``parts``) that no model can describe.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from contextiq import limits
from contextiq.api.problems import problem_response
from contextiq.errors import FieldProblem
from contextiq.observability import request_log_context

ASGIApp = Callable[..., Awaitable[None]]
MAX_PROBLEMS = 10


class _NotFinite:
    """A number that has no JSON value once parsed (NaN, Infinity, 1e400)."""

    def __init__(self, text: str) -> None:
        self.text = text


class _TooManyDigits:
    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else _NotFinite(text)


def _parse_int(text: str) -> int | _TooManyDigits:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= limits.MAX_INTEGER_DIGITS else _TooManyDigits(digits)


def _field(path: tuple[str | int, ...]) -> str:
    """``("state", "a", 0)`` -> ``state.a.0``; a lone surrogate in a key is shown escaped (``\\ud800``)."""
    text = ".".join(str(p) for p in path) or "body"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _bad_string(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_problems(value: Any, max_depth: int = limits.MAX_JSON_DEPTH) -> list[FieldProblem]:
    """Every place in a parsed body that breaks a rule of this module (at most MAX_PROBLEMS)."""
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(value, (), 1)]
    while stack and len(problems) < MAX_PROBLEMS:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list) and depth > max_depth:
            problems.append(FieldProblem(_field(path), f"nested deeper than {max_depth} levels (the body is level 1)"))
        elif isinstance(node, dict):
            for key, child in node.items():
                if _bad_string(key):
                    problems.append(FieldProblem(_field((*path, key)), "key is not valid Unicode (lone surrogate)"))
                stack.append((child, (*path, key), depth + 1))
        elif isinstance(node, list):
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str) and _bad_string(node):
            problems.append(FieldProblem(_field(path), "not valid Unicode: a lone surrogate such as \\ud800"))
        elif isinstance(node, _NotFinite):
            problems.append(
                FieldProblem(_field(path), f"{node.text} is not a finite number (NaN, Infinity, 1e400 are refused)")
            )
        elif isinstance(node, _TooManyDigits):
            problems.append(
                FieldProblem(_field(path), f"integer of {node.digits} digits; at most {limits.MAX_INTEGER_DIGITS}")
            )
    return problems


def check_json_body(body: bytes) -> tuple[int, str, list[FieldProblem]] | None:
    """None when the body may go on to the route; else (status, detail, problems)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return 400, f"the body is not valid UTF-8 (byte {err.start})", [FieldProblem("body", "invalid UTF-8")]
    try:
        parsed = json.loads(
            text, parse_float=_parse_float, parse_int=_parse_int, parse_constant=lambda name: _NotFinite(name)
        )
    except RecursionError:
        depth = limits.MAX_JSON_DEPTH
        return 422, f"the body nests deeper than {depth} levels", [FieldProblem("body", f"deeper than {depth} levels")]
    except ValueError:
        return None  # not JSON at all: the route answers 400 with the parser's position
    problems = json_problems(parsed)
    if problems:
        return 422, f"invalid fields: {', '.join(sorted({p.field for p in problems}))}", problems
    return None


class RequestGuard:
    """ASGI middleware: read the body (bounded), check it, then hand the same bytes to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = limits.MAX_REQUEST_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        lambda_request = (scope.get("aws.event") or {}).get("requestContext") or {}
        request_id = lambda_request.get("requestId") or headers.get(b"x-request-id", b"").decode("latin-1")
        request_log_context(scope.get("method", ""), scope.get("path", ""), request_id or uuid.uuid4().hex)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if body and (not content_type or "json" in content_type):
            found = check_json_body(body)
            if found is not None:
                status, detail, problems = found
                code, title = (
                    ("malformed-request", "Malformed request") if status == 400 else ("invalid-input", "Invalid input")
                )
                response = problem_response(status, code, title, detail, problems, instance=scope.get("path"))
                await response(scope, receive, send)
                return
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)

    async def _too_large(self, scope: dict, receive: Callable, send: Callable) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            "Payload too large",
            f"request bodies are limited to {self.max_bytes} bytes",
            [FieldProblem("body", f"at most {self.max_bytes} bytes")],
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
