"""Lambda: /v1/webhooks (subscriptions to change events, and their delivery logs)."""

from contextiq.api.routers.webhooks import router as webhooks_router
from contextiq.handlers.http import http_handler

handler = http_handler([webhooks_router])
