"""Webhook models (subscriptions to change events and their delivery log), written over the schemas of
``docs/openapi.json`` like :mod:`contextiq_sdk.models` (the drift test checks all three)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from contextiq_sdk.models import Page, Request, Response


class WebhookCreate(Request):
    url: str
    events: list[str]
    secret: str | None = None


class Webhook(Response):
    id: str
    url: str
    events: list[str]
    create_time: datetime


class WebhookCreated(Webhook):
    secret: str  # shown once: keep it to verify deliveries (docs/notifications.md)


class WebhookPage(Page[Webhook]):
    pass


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Delivery(Response):
    id: str
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


class DeliveryPage(Page[Delivery]):
    pass
