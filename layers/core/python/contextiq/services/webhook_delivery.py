"""Delivering one change event to one webhook: sign, POST, log the outcome, decide on a retry.

Signing follows Standard Webhooks v1 (https://www.standardwebhooks.com): headers ``webhook-id`` (the
event id, the same on every retry), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``, the key being the base64
part of the ``whsec_`` secret. Receivers verify with any Standard Webhooks library or the snippet in
docs/notifications.md, refuse timestamps more than 5 minutes off, and drop ids they have seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contextiq import limits
from contextiq.ids import utcnow
from contextiq.models.webhooks import DeliveryMessage, DeliveryStatus, secret_key
from contextiq.observability import count
from contextiq.retry import Backoff
from contextiq.stores.dynamo.webhooks import WebhookStore
from contextiq.stores.webhook_http import Answer, post

USER_AGENT = "ContextIQ-Webhooks/1"
Poster = Callable[[str, bytes, dict[str, str], bool], Answer]


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass(frozen=True)
class Outcome:
    status: str  # "delivered", "retry", "failed" (no attempt left) or "dropped" (the webhook is gone)
    retry_in_seconds: float = 0.0

    @property
    def settled(self) -> bool:
        """Whether the message is done with (deleted from the queue) rather than left for SQS to redeliver."""
        return self.status in ("delivered", "dropped")


class DeliveryWorker:
    def __init__(
        self,
        store: WebhookStore,
        allow_local: bool,
        backoff: Backoff,
        max_attempts: int = limits.WEBHOOK_MAX_ATTEMPTS,
        poster: Poster = post,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._allow_local = allow_local
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._post = poster
        self._clock = clock

    def backoff_for(self, attempt: int) -> float:
        return 0.0 if attempt >= self._max_attempts else self._backoff.delay(attempt - 1)

    def deliver(self, message: DeliveryMessage, attempt: int) -> Outcome:
        """Attempt number ``attempt`` (1-based: the message's receive count)."""
        stored = self._store.get(message.tenant, message.webhook_id)
        if stored is None:
            return Outcome("dropped")  # deleted since: nothing to deliver to
        event = message.event
        body = event.model_dump_json().encode()
        now = self._clock()
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._store.secret(stored), event.id, timestamp, body),
        }
        answer = self._post(stored.webhook.url, body, headers, self._allow_local)
        if answer.ok:
            self._store.record_attempt(
                message.tenant, message.webhook_id, event, DeliveryStatus.DELIVERED, attempt, now, answer.status_code
            )
            count("WebhooksDelivered")
            return Outcome("delivered")
        final = attempt >= self._max_attempts
        status = DeliveryStatus.FAILED if final else DeliveryStatus.RETRYING
        error = (
            answer.error if not final else f"{answer.error} (attempt {attempt} of {self._max_attempts}, dead-lettered)"
        )
        self._store.record_attempt(
            message.tenant, message.webhook_id, event, status, attempt, now, answer.status_code, error
        )
        count("WebhookAttemptsFailed")
        if final:
            count("WebhooksDeadLettered")
            return Outcome("failed")
        return Outcome("retry", self.backoff_for(attempt))
