"""Lambda: /v1/memories (CRUD, revisions, search), /v1/events/search and /v1/recall via Mangum."""

from contextiq.api.routers.memories import router
from contextiq.api.routers.recall import router as recall_router
from contextiq.handlers.http import http_handler

handler = http_handler([router, recall_router])
