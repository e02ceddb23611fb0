"""Every resource router; functions import just the one they serve."""

from contextiq.api.routers.jobs import router as jobs_router
from contextiq.api.routers.memories import router as memories_router
from contextiq.api.routers.sessions import router as sessions_router

# jobs first: POST /v1/memories/generate must win over the memories router's /v1/memories/{id} paths.
ALL_ROUTERS = [sessions_router, jobs_router, memories_router]

__all__ = ["ALL_ROUTERS", "jobs_router", "memories_router", "sessions_router"]
