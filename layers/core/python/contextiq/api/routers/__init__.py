"""Every resource router; functions import just the one they serve."""

from contextiq.api.routers.memories import router as memories_router
from contextiq.api.routers.sessions import router as sessions_router

ALL_ROUTERS = [sessions_router, memories_router]

__all__ = ["ALL_ROUTERS", "memories_router", "sessions_router"]
