"""The FastAPI application factory. Lambda functions mount one resource's router; local mounts all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI

from contextiq import __version__
from contextiq.api.guard import RequestGuard
from contextiq.api.problems import install_fallback_handler, install_problem_handlers
from contextiq.container import Container

ASGIApp = Callable[..., Awaitable[None]]


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
    app.add_middleware(RequestGuard)
    return app
