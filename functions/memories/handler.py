"""Lambda: /v1/memories (CRUD, revisions, search), /v1/events/search, /v1/recall and /v1/context via Mangum."""

from contextiq.api.routers.context import router as context_router
from contextiq.api.routers.memories import router
from contextiq.api.routers.recall import router as recall_router
from contextiq.handlers.http import http_handler

handler = http_handler([router, recall_router, context_router])
