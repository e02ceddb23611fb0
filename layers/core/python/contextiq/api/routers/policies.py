"""/v1/generation-policies: per-app generation policies (memories that form without a generate call)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IfMatch, Limit, NextToken, Services, Tenant, etag, parse_if_match
from contextiq.models.common import Name, Page
from contextiq.models.policies import AppGenerationPolicy, AppPolicy

router = APIRouter(prefix="/v1/generation-policies", tags=["generation policies"])
POLICY_LINKS = {
    "getGenerationPolicy": {"app_name": "$response.body#/app_name"},
    "deleteGenerationPolicy": {"app_name": "$response.body#/app_name"},
}


@router.put(
    "/{app_name}",
    response_model=AppGenerationPolicy,
    **operation(
        "putGenerationPolicy",
        "Set an app's generation policy",
        "Creates or replaces the policy of the tenant's sessions of `app_name`: after `every_n_events` new "
        "events, after `idle_seconds` without an append, and/or at session DELETE (`on_session_delete`), a "
        "generation job runs on the events not yet generated, with `topics`, `examples` and a scope made by "
        "`scope_template`. A session's own policy (at create or `PATCH /v1/sessions/{id}`) replaces it. "
        "`index_events: false` keeps the app's turns out of event search and recall and removes those already "
        "indexed (a few seconds later, by the indexer); deleting the policy turns indexing back on for new "
        "turns. With `If-Match` only over that version (412 when stale).",
        errors=(412,),
        body=True,
        headers=("ETag",),
        links=POLICY_LINKS,
    ),
)
def put_policy(
    app_name: Name, body: AppPolicy, tenant: Tenant, c: Services, response: Response, if_match: IfMatch = None
) -> AppGenerationPolicy:
    policy = c.generation_policies.put(tenant, app_name, body, parse_if_match(if_match))
    response.headers["ETag"] = etag(policy.version)
    return policy


@router.get(
    "",
    response_model=Page[AppGenerationPolicy],
    **operation(
        "listGenerationPolicies",
        "List the tenant's generation policies",
        "Every app policy of the tenant, by app name. Pass `next_token` from a page to get the next one.",
    ),
)
def list_policies(
    tenant: Tenant, c: Services, limit: Limit = limits.DEFAULT_PAGE_SIZE, next_token: NextToken = None
) -> Page[AppGenerationPolicy]:
    items, token = c.generation_policies.list(tenant, limit, next_token)
    return Page[AppGenerationPolicy](items=items, next_token=token)


@router.get(
    "/{app_name}",
    response_model=AppGenerationPolicy,
    **operation(
        "getGenerationPolicy",
        "Get an app's generation policy",
        "The policy with its version (also in the `ETag` header).",
        errors=(404,),
        headers=("ETag",),
    ),
)
def get_policy(app_name: Name, tenant: Tenant, c: Services, response: Response) -> AppGenerationPolicy:
    policy = c.generation_policies.get(tenant, app_name)
    response.headers["ETag"] = etag(policy.version)
    return policy


@router.delete(
    "/{app_name}",
    **operation(
        "deleteGenerationPolicy",
        "Delete an app's generation policy",
        "The app's sessions stop generating by themselves (sessions with their own policy keep it). Jobs "
        "already submitted run to the end.",
        status_code=204,
        errors=(404,),
    ),
)
def delete_policy(app_name: Name, tenant: Tenant, c: Services) -> Response:
    c.generation_policies.delete(tenant, app_name)
    return Response(status_code=204)
