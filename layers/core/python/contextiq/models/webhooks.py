"""Webhook subscriptions, their delivery log, and the delivery queue's message."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from contextiq import limits
from contextiq.models.common import Request
from contextiq.models.notifications import ChangeEvent, ChangeType

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
ALL_EVENTS = "*"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the Standard Webhooks format)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==", validate=False)


def _check_secret(value: str) -> str:
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(f"a secret is '{SECRET_PREFIX}' followed by base64; omit it to have one generated")
    body = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after 'whsec_' is not base64") from None
    if not limits.WEBHOOK_SECRET_MIN_BYTES <= len(key) <= limits.WEBHOOK_SECRET_MAX_BYTES:
        raise ValueError(
            f"the key must be {limits.WEBHOOK_SECRET_MIN_BYTES}-{limits.WEBHOOK_SECRET_MAX_BYTES} bytes, got {len(key)}"
        )
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("event types must not repeat")
    if ALL_EVENTS in values and len(values) > 1:
        raise ValueError("'*' already means every event type")
    return values


# Exactly base64 of 24..64 bytes, padding optional: 8-21 groups of 4 characters, then 2 characters (one
# more byte) or 3 (two more, at most 20 groups before them). The pattern is the whole rule, so the
# document says exactly what is accepted (``{32,88}`` let through lengths that are not base64).
_B64 = "[A-Za-z0-9+/]"
SECRET_PATTERN = rf"^whsec_(?:(?:{_B64}{{4}}){{8,21}}(?:{_B64}{{2}}={{0,2}})?|(?:{_B64}{{4}}){{8,20}}{_B64}{{3}}=?)$"
Secret = Annotated[str, StringConstraints(pattern=SECRET_PATTERN), AfterValidator(_check_secret)]
WebhookUrl = Annotated[
    str, StringConstraints(min_length=8, max_length=limits.MAX_WEBHOOK_URL_CHARS, pattern=r"^https?://")
]
EventSelector = Literal[ChangeType, "*"]


class WebhookCreate(Request):
    url: WebhookUrl = Field(
        description="Where deliveries are POSTed. https in the cloud; a host that resolves to a private, loopback, "
        "link-local or metadata address is refused (checked again at every delivery).",
        examples=["https://hooks.example.com/contextiq"],
    )
    events: Annotated[list[EventSelector], AfterValidator(_unique)] = Field(
        min_length=1,
        max_length=9,
        description="event types to deliver (each once), or ['*'] for all",
        # what _unique enforces, so the document is exact: no repeats, and '*' only alone
        json_schema_extra={"uniqueItems": True, "not": {"contains": {"const": ALL_EVENTS}, "minItems": 2}},
    )
    secret: Secret | None = Field(
        default=None,
        description="`whsec_` + base64 of 24-64 random bytes; generated when absent. Returned only in this answer.",
    )


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str]
    create_time: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret: shown once, in this answer only.")


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # queued, not tried yet
    RETRYING = "RETRYING"  # tried and failed; will be tried again
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # every attempt failed (or the URL is refused); the message is dead-lettered


class Delivery(BaseModel):
    id: str = Field(description="the event id, also the `webhook-id` header")
    webhook_id: str
    event_type: str
    resource: str
    resource_id: str
    version: int | None
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    create_time: datetime
    update_time: datetime


class DeliveryMessage(BaseModel):
    """The webhook delivery queue's message: one event for one subscription."""

    model_config = ConfigDict(extra="forbid")

    tenant: str
    webhook_id: str
    event: ChangeEvent
