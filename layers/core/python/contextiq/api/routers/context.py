"""/v1/context: a ready prompt context from the session, long-term memory and procedures, within a budget."""

from __future__ import annotations

from fastapi import APIRouter

from contextiq.api.conventions import operation
from contextiq.api.deps import Services, Tenant
from contextiq.models.context import ContextRequest, ContextResponse

router = APIRouter(tags=["context"])


@router.post(
    "/v1/context",
    response_model=ContextResponse,
    **operation(
        "assembleContext",
        "Assemble the context for an agent's next prompt",
        "Reads the session once (its last turns, its user as the default scope, its last user turn as the "
        "default query), runs the memory, event and procedure searches in parallel, and renders what they "
        "found through a template (`template_id`, an inline `template`, or the built-in `default`). The text "
        "is at most `max_tokens` estimated tokens: whole items are left out in the documented trim order "
        "until it fits (docs/context.md), and `sections` lists every item kept with its id and score. 404 "
        "for an unknown session or template; 422 when the template fails to render (naming the line) or "
        "when `max_tokens` cannot hold the template's own text.",
        errors=(404,),
        body=True,
    ),
)
def assemble_context(body: ContextRequest, tenant: Tenant, c: Services) -> ContextResponse:
    return c.context.assemble(tenant, body)
