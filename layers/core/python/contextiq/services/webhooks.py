"""Webhook subscriptions (the API side) and the fan-out of change events to them (the stream side)."""

from __future__ import annotations

import base64
import builtins
import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from contextiq import limits
from contextiq.errors import FieldProblem, InvalidInputError, NotFoundError
from contextiq.ids import new_id, utcnow
from contextiq.models.notifications import ChangeEvent
from contextiq.models.webhooks import (
    ALL_EVENTS,
    SECRET_PREFIX,
    Delivery,
    DeliveryMessage,
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookCreated,
)
from contextiq.observability import count
from contextiq.stores.dynamo.webhooks import StoredWebhook, WebhookStore
from contextiq.stores.queues import MessageQueue
from contextiq.stores.webhook_http import UnsafeUrlError, check_url

SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class Publisher(Protocol):
    def publish(self, events: Sequence[ChangeEvent]) -> None: ...


class WebhookService:
    def __init__(
        self, store: WebhookStore, allow_local: bool, url_check: Callable[[str, bool], None] = check_url
    ) -> None:
        self._store = store
        self._allow_local = allow_local
        self._check = url_check

    def create(self, tenant: str, body: WebhookCreate) -> WebhookCreated:
        try:
            self._check(body.url, self._allow_local)
        except UnsafeUrlError as e:
            raise InvalidInputError(f"url is not allowed: {e}", [FieldProblem("url", str(e))]) from None
        secret = body.secret or new_secret()
        hook = Webhook(id=new_id(), url=body.url, events=list(body.events), create_time=utcnow())
        self._store.create(tenant, hook, secret)
        return WebhookCreated(**hook.model_dump(), secret=secret)

    def list(self, tenant: str) -> list[Webhook]:
        return [s.webhook for s in self._store.list(tenant)]

    def _get(self, tenant: str, webhook_id: str) -> StoredWebhook:
        stored = self._store.get(tenant, webhook_id) if len(webhook_id) <= 64 else None
        if stored is None:
            raise NotFoundError(f"webhook {webhook_id} not found")
        return stored

    def get(self, tenant: str, webhook_id: str) -> Webhook:
        return self._get(tenant, webhook_id).webhook

    def delete(self, tenant: str, webhook_id: str) -> None:
        if len(webhook_id) > 64 or not self._store.delete(tenant, webhook_id):
            raise NotFoundError(f"webhook {webhook_id} not found")

    def secret(self, tenant: str, webhook_id: str) -> str:
        """The signing secret (an idempotent replay of the create shows it again to the same tenant)."""
        return self._store.secret(self._get(tenant, webhook_id))

    def deliveries(
        self, tenant: str, webhook_id: str, limit: int, token: str | None
    ) -> tuple[builtins.list[Delivery], str | None]:
        self._get(tenant, webhook_id)
        return self._store.deliveries(tenant, webhook_id, limit, token)


def wants(webhook: Webhook, event: ChangeEvent) -> bool:
    return ALL_EVENTS in webhook.events or event.type in webhook.events


def delivery_group(webhook_id: str, event: ChangeEvent) -> str:
    """The FIFO message group: deliveries of one resource to one webhook go out in order, one at a time."""
    return f"{webhook_id}:{event.order_key}"[:128]


def delivery_dedup_id(webhook_id: str, event: ChangeEvent) -> str:
    return hashlib.sha256(f"{webhook_id}\n{event.id}".encode()).hexdigest()


class Notifier:
    """Announces change events: to the EventBridge bus (when configured) and to every matching webhook."""

    def __init__(
        self,
        publisher: Publisher | None,
        store: WebhookStore,
        deliveries: MessageQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._queue = deliveries
        self._clock = clock

    def announce(self, events: Sequence[ChangeEvent]) -> int:
        """Publish and fan out; returns how many webhook deliveries were queued. Raises on any failure
        (the stream record is retried; the ids make the retry harmless)."""
        if not events:
            return 0
        events = [e.fitted(limits.MAX_EVENT_PAYLOAD_BYTES) for e in events]
        if self._publisher is not None:
            self._publisher.publish(events)
            count("ChangeEventsPublished", len(events))
        queued = 0
        hooks_by_tenant: dict[str, list[StoredWebhook]] = {}
        for event in events:
            hooks = hooks_by_tenant.setdefault(event.tenant, self._store.list(event.tenant))
            for stored in hooks:
                if not wants(stored.webhook, event):
                    continue
                hook_id = stored.webhook.id
                seen = self._store.record_queued(event.tenant, hook_id, event, self._clock())
                if seen is not None and seen != DeliveryStatus.PENDING:
                    continue  # a replayed record: already queued (RETRYING) or settled
                message = DeliveryMessage(tenant=event.tenant, webhook_id=hook_id, event=event)
                self._queue.send(message, delivery_group(hook_id, event), delivery_dedup_id(hook_id, event))
                queued += 1
        return queued
