"""``client.webhooks``: subscriptions to change events and their delivery logs (sync)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING

from contextiq_sdk import models_webhooks as w

if TYPE_CHECKING:
    from contextiq_sdk.client import Client


class Webhooks:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        url: str,
        events: builtins.list[str] | None = None,
        *,
        secret: str | None = None,
        idempotency_key: str | None = None,
    ) -> w.WebhookCreated:
        """Subscribe ``url`` to ``events`` (default: every type). The answer's ``secret`` is shown once."""
        body = w.WebhookCreate(url=url, events=events or ["*"], secret=secret)
        return self._c._call("create_webhook", body=body, idempotency_key=idempotency_key)

    def list(self) -> w.WebhookPage:
        return self._c._call("list_webhooks")

    def get(self, webhook_id: str) -> w.Webhook:
        return self._c._call("get_webhook", {"webhook_id": webhook_id})

    def delete(self, webhook_id: str) -> None:
        self._c._call("delete_webhook", {"webhook_id": webhook_id})

    def deliveries(self, webhook_id: str, *, limit: int | None = None, next_token: str | None = None) -> w.DeliveryPage:
        params = {"limit": limit, "next_token": next_token}
        return self._c._call("list_webhook_deliveries", {"webhook_id": webhook_id}, params=params)

    def iter_deliveries(self, webhook_id: str, *, page_size: int | None = None) -> Iterator[w.Delivery]:
        return self._c._pages(lambda t: self.deliveries(webhook_id, limit=page_size, next_token=t))
