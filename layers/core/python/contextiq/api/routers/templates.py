"""/v1/templates: prompt templates (Jinja2, sandboxed), every change an immutable version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import (
    Actor,
    IdempotencyKey,
    IfMatch,
    Limit,
    NextToken,
    Services,
    Tenant,
    etag,
    parse_if_match,
)
from contextiq.api.responses import respond, stored
from contextiq.models.common import Page
from contextiq.models.templates import Template, TemplateCreate, TemplatePatch, TemplateVersion

router = APIRouter(prefix="/v1/templates", tags=["templates"])
TEMPLATE_LINKS = {
    "getTemplate": {"template_id": "$response.body#/id"},
    "updateTemplate": {"template_id": "$response.body#/id"},
    "deleteTemplate": {"template_id": "$response.body#/id"},
    "listTemplateVersions": {"template_id": "$response.body#/id"},
}


@router.post(
    "",
    response_model=Template,
    **operation(
        "createTemplate",
        "Create a prompt template",
        "A Jinja2 body run in a sandbox, with the filters and context variables of docs/templates.md, and the "
        "`variables` it reads besides them. Checked on save: a syntax error, an unknown variable or filter, "
        "or a body that goes over the render limits with empty sections is a 422 naming the line. Answers "
        "version 1.",
        status_code=201,
        errors=(409,),
        body=True,
        headers=("ETag", "Location", "Idempotent-Replayed"),
        links=TEMPLATE_LINKS,
    ),
)
def create_template(
    body: TemplateCreate, tenant: Tenant, actor: Actor, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def action() -> dict:
        t = c.templates.create(tenant, body, actor)
        return stored(201, t, {"ETag": etag(t.version), "Location": f"/v1/templates/{t.id}"})

    return respond(c, tenant, "POST /v1/templates", idempotency_key, body, action)


@router.get(
    "",
    response_model=Page[Template],
    **operation(
        "listTemplates",
        "List the templates",
        "The latest version of each of the caller's templates (not the built-in `default`), oldest first. "
        "Pass `next_token` from a page to get the next one.",
    ),
)
def list_templates(
    tenant: Tenant, c: Services, limit: Limit = limits.DEFAULT_PAGE_SIZE, next_token: NextToken = None
) -> Page[Template]:
    items, token = c.templates.list_all(tenant, limit, next_token)
    return Page[Template](items=items, next_token=token)


@router.get(
    "/{template_id}",
    response_model=Template,
    **operation(
        "getTemplate",
        "Get a template, or one of its versions",
        "The latest version, or with `version` that immutable version (404 when it does not exist). `default` "
        "is the built-in template. Deleted and expired templates are 404.",
        errors=(404,),
        headers=("ETag",),
    ),
)
def get_template(
    template_id: str,
    tenant: Tenant,
    c: Services,
    response: Response,
    version: Annotated[int | None, Query(ge=1, le=10**9, description="an earlier version to read")] = None,
) -> Template:
    t = c.templates.get(tenant, template_id, version)
    response.headers["ETag"] = etag(t.version)
    return t


@router.patch(
    "/{template_id}",
    response_model=Template,
    **operation(
        "updateTemplate",
        "Change a template (a new version)",
        "Replaces the fields given and makes the next version; earlier versions stay readable. With `If-Match` "
        "only that version is changed (412 when stale). The body is checked as on create (422 naming the "
        "line). The built-in `default` cannot be changed (409).",
        errors=(404, 409, 412),
        body=True,
        headers=("ETag",),
    ),
)
def patch_template(
    template_id: str,
    body: TemplatePatch,
    tenant: Tenant,
    actor: Actor,
    c: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Template:
    t = c.templates.update(tenant, template_id, body, actor, parse_if_match(if_match))
    response.headers["ETag"] = etag(t.version)
    return t


@router.delete(
    "/{template_id}",
    **operation(
        "deleteTemplate",
        "Delete a template",
        "Gone from reads, listings and renders at once; its versions stay listed (the last one is DELETED). "
        "With `If-Match` only that version is deleted (412 when stale).",
        status_code=204,
        errors=(404, 409, 412),
    ),
)
def delete_template(template_id: str, tenant: Tenant, actor: Actor, c: Services, if_match: IfMatch = None) -> Response:
    c.templates.delete(tenant, template_id, actor, parse_if_match(if_match))
    return Response(status_code=204)


@router.get(
    "/{template_id}/versions",
    response_model=Page[TemplateVersion],
    **operation(
        "listTemplateVersions",
        "List every version of a template, in order",
        "CREATED, UPDATED and DELETED versions, each with the template as it was after the change and the "
        "actor; they stay readable after a delete.",
        errors=(404,),
    ),
)
def list_template_versions(
    template_id: str, tenant: Tenant, c: Services, limit: Limit = limits.MAX_PAGE_SIZE, next_token: NextToken = None
) -> Page[TemplateVersion]:
    items, token = c.templates.versions(tenant, template_id, limit, next_token)
    return Page[TemplateVersion](items=items, next_token=token)
