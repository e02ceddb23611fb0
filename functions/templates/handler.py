"""Lambda: /v1/templates (prompt templates and their versions) via Mangum."""

from contextiq.api.routers.templates import router
from contextiq.handlers.http import http_handler

handler = http_handler([router])
