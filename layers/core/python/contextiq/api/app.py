"""The FastAPI application factory. Lambda functions mount one resource's router; local mounts all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI

from contextiq import __version__, limits
from contextiq.api.problems import install_fallback_handler, install_problem_handlers, problem_response
from contextiq.container import Container

ASGIApp = Callable[..., Awaitable[None]]


class BodySizeLimit:
    """413 for bodies over MAX_REQUEST_BODY_BYTES, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int = limits.MAX_REQUEST_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLargeError:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: dict, receive: Callable, send: Callable) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            "Payload too large",
            f"request bodies are limited to {self.max_bytes} bytes",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


class _TooLargeError(Exception):
    pass


def create_app(container: Container, routers: Sequence[APIRouter] | None = None) -> FastAPI:
    """Build the API. ``routers`` defaults to every resource (the local runtime's single process)."""
    if routers is None:
        from contextiq.api.routers import all_routers

        routers = all_routers()
    app = FastAPI(
        title="ContextIQ",
        version=__version__,
        description="Memory for AI agents: sessions, long-term memories, memory generation.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    from contextiq.api.openapi import full_openapi

    app.openapi = full_openapi  # type: ignore[method-assign]
    install_problem_handlers(app)
    install_fallback_handler(app)
    for router in routers:
        app.include_router(router)
    app.add_middleware(BodySizeLimit)
    return app
