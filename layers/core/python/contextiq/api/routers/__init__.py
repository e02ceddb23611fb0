"""Every resource router; functions import just the one they serve."""

from contextiq.api.routers.sessions import router as sessions_router

ALL_ROUTERS = [sessions_router]

__all__ = ["ALL_ROUTERS", "sessions_router"]
