"""Lambda: /v1/memories (CRUD, revisions, search) via Mangum."""

from contextiq.api.routers.memories import router
from contextiq.handlers.http import http_handler

handler = http_handler([router])
