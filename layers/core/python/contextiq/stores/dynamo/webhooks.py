"""Webhook subscriptions and their delivery log, in one DynamoDB table.

    pk = T#<tenant>#WH              sk = COUNT                 how many subscriptions the tenant has
    pk = T#<tenant>#WH              sk = W#<webhook_id>        a subscription (url, events, sealed secret)
    pk = T#<tenant>#W#<webhook_id>  sk = D#<ms>#<event_id>     one delivery (newest first by the event's time)

The per-tenant limit is enforced by a counter in the same transaction as the subscription write, so
concurrent creates cannot exceed it. The signing secret is stored sealed (encrypted and authenticated with
the stage key, bound to tenant and webhook id: ``PageTokens.seal``), and no read model carries it.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq import limits
from contextiq.errors import ConflictError
from contextiq.ids import epoch, epoch_ms, isoformat
from contextiq.models.notifications import ChangeEvent
from contextiq.models.webhooks import Delivery, DeliveryStatus, Webhook
from contextiq.stores.dynamo.base import (
    PageTokens,
    from_item,
    is_condition_failure,
    query_full_page,
    to_item,
    values,
)

COUNT_SK = "COUNT"


def _subs_pk(tenant: str) -> str:
    return f"T#{tenant}#WH"


def _deliveries_pk(tenant: str, webhook_id: str) -> str:
    return f"T#{tenant}#W#{webhook_id}"


def _delivery_sk(event: ChangeEvent) -> str:
    return f"D#{epoch_ms(event.time):013d}#{event.id}"


def _binding(tenant: str, webhook_id: str) -> str:
    return json.dumps(["webhook-secret", tenant, webhook_id])


@dataclass(frozen=True)
class StoredWebhook:
    tenant: str
    webhook: Webhook
    sealed_secret: str


class LimitExceededError(ConflictError):
    """The tenant already has the most subscriptions it may have."""


class WebhookStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    # -- subscriptions ------------------------------------------------------------------------------

    def create(self, tenant: str, webhook: Webhook, secret: str) -> None:
        item = {
            "pk": _subs_pk(tenant),
            "sk": f"W#{webhook.id}",
            "tenant": tenant,
            "id": webhook.id,
            "url": webhook.url,
            "events": list(webhook.events),
            "secret": self._tokens.seal(secret.encode(), _binding(tenant, webhook.id)),
            "create_time": isoformat(webhook.create_time),
        }
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_item({"pk": _subs_pk(tenant), "sk": COUNT_SK}),
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :max",
                            "ExpressionAttributeValues": values(one=1, max=limits.MAX_WEBHOOKS_PER_TENANT),
                        }
                    },
                ]
            )
        except ClientError as e:
            if is_condition_failure(e):
                raise LimitExceededError(
                    f"a tenant has at most {limits.MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first"
                ) from None
            raise

    def delete(self, tenant: str, webhook_id: str) -> bool:
        """False when there was no such subscription."""
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": to_item({"pk": _subs_pk(tenant), "sk": f"W#{webhook_id}"}),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_item({"pk": _subs_pk(tenant), "sk": COUNT_SK}),
                            "UpdateExpression": "ADD n :minus",
                            "ExpressionAttributeValues": values(minus=-1),
                        }
                    },
                ]
            )
        except ClientError as e:
            if is_condition_failure(e):
                return False
            raise
        return True

    @staticmethod
    def _parse(raw: dict[str, Any]) -> StoredWebhook:
        item = from_item(raw)
        hook = Webhook(id=item["id"], url=item["url"], events=list(item["events"]), create_time=item["create_time"])
        return StoredWebhook(item["tenant"], hook, item["secret"])

    def get(self, tenant: str, webhook_id: str) -> StoredWebhook | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key=to_item({"pk": _subs_pk(tenant), "sk": f"W#{webhook_id}"}), ConsistentRead=True
        )
        return self._parse(resp["Item"]) if resp.get("Item") else None

    def list(self, tenant: str) -> list[StoredWebhook]:
        """Every subscription of the tenant (at most MAX_WEBHOOKS_PER_TENANT), oldest id first."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :w)",
            "ExpressionAttributeValues": values(pk=_subs_pk(tenant), w="W#"),
            "ConsistentRead": True,
        }
        raw, _ = query_full_page(self._ddb, kwargs, limits.MAX_WEBHOOKS_PER_TENANT + 1)
        return [self._parse(i) for i in raw]

    def secret(self, stored: StoredWebhook) -> str:
        return self._tokens.unseal(stored.sealed_secret, _binding(stored.tenant, stored.webhook.id)).decode()

    # -- delivery log -------------------------------------------------------------------------------

    def record_queued(self, tenant: str, webhook_id: str, event: ChangeEvent, now: datetime) -> DeliveryStatus | None:
        """Log a new PENDING delivery (None); for an event already logged for this webhook (a replayed stream
        record), its status instead."""
        item = {
            "pk": _deliveries_pk(tenant, webhook_id),
            "sk": _delivery_sk(event),
            "id": event.id,
            "webhook_id": webhook_id,
            "event_type": event.type,
            "resource": event.resource,
            "resource_id": event.resource_id,
            "version": event.version,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "create_time": isoformat(now),
            "update_time": isoformat(now),
            "expire_at": epoch(now) + limits.WEBHOOK_DELIVERY_RETENTION_DAYS * 86400,
        }
        try:
            self._ddb.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as e:
            if not is_condition_failure(e):
                raise
            resp = self._ddb.get_item(
                TableName=self._table, Key=to_item({"pk": item["pk"], "sk": item["sk"]}), ConsistentRead=True
            )
            return DeliveryStatus(from_item(resp.get("Item") or {}).get("status", DeliveryStatus.PENDING.value))
        return None

    def record_attempt(
        self,
        tenant: str,
        webhook_id: str,
        event: ChangeEvent,
        status: DeliveryStatus,
        attempts: int,
        now: datetime,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        """The outcome of one attempt. A DELIVERED delivery never goes back (a late duplicate attempt)."""
        names = {"#s": "status", "#a": "attempts"}
        sets = ["#s = :s", "#a = :a", "update_time = :now", "last_status_code = :c", "last_error = :e"]
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item({"pk": _deliveries_pk(tenant, webhook_id), "sk": _delivery_sk(event)}),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND #s <> :delivered",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values(
                    s=status.value,
                    a=attempts,
                    now=isoformat(now),
                    c=status_code,
                    e=error,
                    delivered=DeliveryStatus.DELIVERED.value,
                ),
            )
        except ClientError as e:
            if not is_condition_failure(e):
                raise

    def deliveries(
        self, tenant: str, webhook_id: str, limit: int, token: str | None
    ) -> tuple[builtins.list[Delivery], str | None]:
        pk = _deliveries_pk(tenant, webhook_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :d)",
            "ExpressionAttributeValues": values(pk=pk, d="D#"),
            "ScanIndexForward": False,
        }
        binding = json.dumps(["webhook-deliveries", tenant, webhook_id])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [_delivery(from_item(i)) for i in raw], self._tokens.encode(last, binding)


def _delivery(item: dict[str, Any]) -> Delivery:
    return Delivery(
        id=item["id"],
        webhook_id=item["webhook_id"],
        event_type=item["event_type"],
        resource=item["resource"],
        resource_id=item["resource_id"],
        version=item.get("version"),
        status=DeliveryStatus(item["status"]),
        attempts=item.get("attempts", 0),
        last_status_code=item.get("last_status_code"),
        last_error=item.get("last_error"),
        create_time=item["create_time"],
        update_time=item["update_time"],
    )
