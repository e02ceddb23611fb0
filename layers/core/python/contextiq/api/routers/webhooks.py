"""/v1/webhooks: subscriptions to change events, and each one's delivery log (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from contextiq import limits
from contextiq.api.conventions import operation
from contextiq.api.deps import IdempotencyKey, Limit, NextToken, Services, Tenant
from contextiq.api.responses import run_once, stored, to_response
from contextiq.models.common import Page
from contextiq.models.webhooks import Delivery, Webhook, WebhookCreate, WebhookCreated

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
WebhookId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
LINKS = {
    "getWebhook": {"webhook_id": "$response.body#/id"},
    "deleteWebhook": {"webhook_id": "$response.body#/id"},
    "listWebhookDeliveries": {"webhook_id": "$response.body#/id"},
}


@router.post(
    "",
    response_model=WebhookCreated,
    **operation(
        "createWebhook",
        "Subscribe a URL to change events",
        "Deliveries are signed POSTs (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`), "
        "retried with backoff, ordered per resource by version, at least once. The `secret` is in this answer "
        "only (an Idempotency-Key replay shows it again to the same tenant); reads never carry it. In the cloud "
        "the URL must be https and its host must resolve to public addresses only. "
        f"At most {limits.MAX_WEBHOOKS_PER_TENANT} webhooks per tenant (409 beyond).",
        status_code=201,
        errors=(409,),
        body=True,
        headers=("Location", "Idempotent-Replayed"),
        links=LINKS,
    ),
)
def create_webhook(
    body: WebhookCreate, tenant: Tenant, c: Services, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    created: dict[str, str] = {}

    def action() -> dict:
        hook = c.webhooks.create(tenant, body)
        created["secret"] = hook.secret
        # The stored answer (also the idempotency record) has no secret; it is added below.
        return stored(201, Webhook(**hook.model_dump(exclude={"secret"})), {"Location": f"/v1/webhooks/{hook.id}"})

    result, replayed = run_once(c, tenant, "POST /v1/webhooks", idempotency_key, body, action)
    webhook_id = result["body"]["id"]
    secret = created.get("secret") or c.webhooks.secret(tenant, webhook_id)
    return to_response({**result, "body": {**result["body"], "secret": secret}}, replayed)


@router.get(
    "",
    response_model=Page[Webhook],
    **operation(
        "listWebhooks", "List the webhooks", f"Every webhook of the tenant (at most {limits.MAX_WEBHOOKS_PER_TENANT})."
    ),
)
def list_webhooks(tenant: Tenant, c: Services) -> Page[Webhook]:
    return Page[Webhook](items=c.webhooks.list(tenant))


@router.get(
    "/{webhook_id}",
    response_model=Webhook,
    **operation("getWebhook", "Get a webhook", "The subscription, without its secret.", errors=(404,)),
)
def get_webhook(webhook_id: WebhookId, tenant: Tenant, c: Services) -> Webhook:
    return c.webhooks.get(tenant, webhook_id)


@router.delete(
    "/{webhook_id}",
    **operation(
        "deleteWebhook",
        "Delete a webhook",
        "Stops deliveries: queued ones are dropped. Its delivery log is no longer readable and expires "
        f"within {limits.WEBHOOK_DELIVERY_RETENTION_DAYS} days.",
        status_code=204,
        errors=(404,),
    ),
)
def delete_webhook(webhook_id: WebhookId, tenant: Tenant, c: Services) -> Response:
    c.webhooks.delete(tenant, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[Delivery],
    **operation(
        "listWebhookDeliveries",
        "List a webhook's deliveries",
        "Newest event first: PENDING, RETRYING (with the last error), DELIVERED, or FAILED after "
        f"{limits.WEBHOOK_MAX_ATTEMPTS} attempts (dead-lettered). Kept {limits.WEBHOOK_DELIVERY_RETENTION_DAYS} days.",
        errors=(404,),
    ),
)
def list_deliveries(
    webhook_id: WebhookId,
    tenant: Tenant,
    c: Services,
    limit: Limit = limits.DEFAULT_PAGE_SIZE,
    next_token: NextToken = None,
) -> Page[Delivery]:
    items, token = c.webhooks.deliveries(tenant, webhook_id, limit, next_token)
    return Page[Delivery](items=items, next_token=token)
