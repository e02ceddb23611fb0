"""Lambda: /v1/procedures (CRUD, revisions, Markdown, search, feedback, generate) and /v1/trajectories."""

from contextiq.api.routers.procedures import router as procedures_router
from contextiq.api.routers.trajectories import router as trajectories_router
from contextiq.handlers.http import http_handler

handler = http_handler([procedures_router, trajectories_router])
