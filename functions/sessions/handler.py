"""Lambda: /v1/sessions, with checkpoints and forks, and /v1/generation-policies (API Gateway REST proxy ->
FastAPI via Mangum)."""

from contextiq.api.routers.policies import router as policies_router
from contextiq.api.routers.session_branches import router as branches_router
from contextiq.api.routers.sessions import router
from contextiq.handlers.http import http_handler

handler = http_handler([router, branches_router, policies_router])
