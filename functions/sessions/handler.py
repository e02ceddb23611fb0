"""Lambda: /v1/sessions (API Gateway REST proxy -> FastAPI via Mangum)."""

from contextiq.api.routers.sessions import router
from contextiq.handlers.http import http_handler

handler = http_handler([router])
