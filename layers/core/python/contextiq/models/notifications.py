"""Change events: what ContextIQ tells the outside world when a memory, a procedure or a job changes.

One typed, versioned message (``ChangeEvent``) is derived from the tables' DynamoDB streams, so an event
exists exactly for each committed change (a write that did not commit leaves no stream record). It is the
``detail`` of the EventBridge event (``detail-type`` = ``type``) and the body of a webhook delivery.
The catalogue is in docs/notifications.md.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION: Literal["1"] = "1"
EVENT_SOURCE = "contextiq"  # EventBridge ``source`` of every event

ChangeType = Literal[
    "memory.created",
    "memory.updated",
    "memory.deleted",
    "procedure.created",
    "procedure.updated",
    "procedure.deleted",
    "job.succeeded",
    "job.failed",
]
CHANGE_TYPES: tuple[str, ...] = get_args(ChangeType)
Resource = Literal["memory", "procedure", "job"]
Action = Literal["created", "updated", "deleted", "succeeded", "failed"]


def event_id(tenant: str, type_: str, resource_id: str, version: int | None) -> str:
    """Deterministic: the same committed change (a replayed stream record) always gets the same id, so a
    receiver can drop duplicates by id and SQS FIFO deduplicates the resend."""
    digest = hashlib.sha256(f"{tenant}\n{type_}\n{resource_id}\n{version}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


class ChangeEvent(BaseModel):
    """One committed change. ``version`` orders the changes of one resource (jobs have none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec_version: Literal["1"] = SPEC_VERSION
    id: str = Field(description="stable per change: redeliveries of the same change carry the same id")
    type: ChangeType
    time: datetime = Field(description="when the change committed (UTC)")
    tenant: str
    scope: dict[str, str]
    resource: Resource
    resource_id: str
    action: Action
    version: int | None = Field(description="the resource's version after the change; null for jobs")
    data: dict[str, Any] = Field(default_factory=dict, description="per type, see docs/notifications.md")

    @classmethod
    def build(
        cls,
        *,
        resource: Resource,
        action: Action,
        tenant: str,
        scope: dict[str, str],
        resource_id: str,
        version: int | None,
        time: datetime,
        data: dict[str, Any] | None = None,
    ) -> ChangeEvent:
        type_ = f"{resource}.{action}"
        if type_ not in CHANGE_TYPES:
            raise ValueError(f"no event type {type_!r}")
        return cls(
            id=event_id(tenant, type_, resource_id, version if resource != "job" else None),
            type=type_,
            time=time,
            tenant=tenant,
            scope=scope,
            resource=resource,
            resource_id=resource_id,
            action=action,
            version=version,
            data=data or {},
        )

    def fitted(self, max_bytes: int) -> ChangeEvent:
        """Itself, or without its ``data`` (``data.truncated``) when its JSON is over ``max_bytes``: ids,
        version and time always go out; the content is one GET away."""
        if len(self.model_dump_json().encode()) <= max_bytes:
            return self
        return self.model_copy(update={"data": {"truncated": True}})

    @property
    def order_key(self) -> str:
        """What deliveries are ordered by (one FIFO message group per resource)."""
        return f"{self.resource}:{self.resource_id}"
