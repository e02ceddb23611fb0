"""The resource routers. A Lambda function imports only the router it serves (importing this package
imports none of them, so a function's cold start does not pay for the others)."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    """Every router, for the local runtime's single process and the OpenAPI document.

    jobs comes before memories: POST /v1/memories/generate must win over /v1/memories/{memory_id}.
    """
    from contextiq.api.routers.context import router as context_router
    from contextiq.api.routers.jobs import router as jobs_router
    from contextiq.api.routers.memories import router as memories_router
    from contextiq.api.routers.policies import router as policies_router
    from contextiq.api.routers.procedures import router as procedures_router
    from contextiq.api.routers.recall import router as recall_router
    from contextiq.api.routers.session_branches import router as branches_router
    from contextiq.api.routers.sessions import router as sessions_router
    from contextiq.api.routers.templates import router as templates_router
    from contextiq.api.routers.trajectories import router as trajectories_router
    from contextiq.api.routers.webhooks import router as webhooks_router

    return [
        sessions_router,
        branches_router,
        jobs_router,
        memories_router,
        recall_router,
        procedures_router,
        trajectories_router,
        webhooks_router,
        templates_router,
        policies_router,
        context_router,
    ]
