"""The whole API's OpenAPI document, whichever function serves it (each Lambda mounts one router)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def full_openapi() -> dict[str, Any]:
    from fastapi import FastAPI
    from fastapi.openapi.utils import get_openapi

    from contextiq import __version__
    from contextiq.api.routers import all_routers

    app = FastAPI()
    for router in all_routers():
        app.include_router(router)
    schema = get_openapi(
        title="ContextIQ",
        version=__version__,
        description="Memory for AI agents: sessions, long-term memories, memory generation. "
        "Every request needs an `x-api-key` header; errors are RFC 9457 application/problem+json.",
        routes=app.routes,
    )
    schema["components"].setdefault("securitySchemes", {})["ApiKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    schema["security"] = [{"ApiKey": []}]
    return schema
