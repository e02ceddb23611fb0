"""Lambda: POST /v1/memories/generate and GET /v1/jobs/{id} via Mangum."""

from contextiq.api.routers.jobs import router
from contextiq.handlers.http import http_handler

handler = http_handler([router])
