"""DynamoDB stream records, parsed once: what changed in the memories and sessions tables.

The indexer handler gets Powertools ``DynamoDBRecord``s (images already deserialised, numbers as
``Decimal``, binary attributes still base64 text as Lambda delivers them); this module turns one into a
``MemoryChange`` or an ``EventChange`` that the indexing service applies, or ``None`` for items the index
does not hold (revisions, session items).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contextiq.models.policies import app_policy_indexes_events
from contextiq.models.sessions import Event, Session
from contextiq.stores.dynamo.memories import MEMORY_SK, StoredMemory, memory_from_plain
from contextiq.stores.dynamo.sessions import SESSION_SK, event_from_item, session_from_plain

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

_BINARY = frozenset({"vector"})  # binary attributes of the items the index holds


@dataclass(frozen=True)
class MemoryChange:
    stored: StoredMemory
    removed: bool  # REMOVE: TTL expiry of a memory or of its tombstone


@dataclass(frozen=True)
class EventChange:
    tenant: str
    user_id: str
    app_name: str | None
    event: Event
    expire_at: int | None  # the session's expiry, epoch seconds
    removed: bool  # REMOVE: the session was deleted, or its TTL expired
    indexed: bool = True  # False: the session was created with index_events=false


def plain(image: Mapping[str, Any]) -> dict[str, Any]:
    """A deserialised stream image as the plain values the repositories parse."""
    out: dict[str, Any] = {}
    for key, value in image.items():
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        elif key in _BINARY and isinstance(value, str):
            value = base64.b64decode(value)
        elif isinstance(value, bytes | bytearray | memoryview):
            value = bytes(value)
        elif isinstance(value, set):
            value = sorted(value)
        out[key] = value
    return out


def parse_stream_record(record: DynamoDBRecord) -> MemoryChange | EventChange | None:
    removed = str(record.event_name.name if record.event_name else "") == "REMOVE"
    data = record.dynamodb
    if data is None:
        return None
    image = data.old_image if removed else data.new_image
    if not image:
        return None
    item = plain(image)
    sk = str(item.get("sk", ""))
    if sk == MEMORY_SK:
        return MemoryChange(memory_from_plain(item), removed)
    if sk.startswith("E#") and "user_id" in item and "tenant" in item:
        return EventChange(
            tenant=item["tenant"],
            user_id=item["user_id"],
            app_name=item.get("app_name"),
            event=event_from_item(item["session_id"], item),
            expire_at=item.get("expire_at"),
            removed=removed,
            indexed=not item.get("noindex"),
        )
    return None  # revisions, session items, events written before they carried their owner


@dataclass(frozen=True)
class AppIndexChange:
    """An app policy item changed: whether the app's turns were indexed before and are now."""

    tenant: str
    app_name: str
    indexed_before: bool
    indexed_now: bool


def parse_app_index_record(record: DynamoDBRecord) -> AppIndexChange | None:
    """The app policy items of the sessions table (``stores/dynamo/policies.py``); None for any other item."""
    data = record.dynamodb
    if data is None:
        return None
    new, old = plain(data.new_image or {}), plain(data.old_image or {})
    item = new or old
    if item.get("sk") != "POLICY" or "tenant" not in item or "app_name" not in item:
        return None
    return AppIndexChange(
        tenant=item["tenant"],
        app_name=item["app_name"],
        indexed_before=app_policy_indexes_events(old.get("policy")),
        indexed_now=app_policy_indexes_events(new.get("policy")),  # REMOVE (policy deleted): indexed again
    )


@dataclass(frozen=True)
class SessionChange:
    """A session item changed: what the generation policies act on (``parse_session_record``)."""

    tenant: str
    session: Session  # the new image (the old one for REMOVE)
    appended: bool  # its last_seq grew: one or more events were appended
    deleting: bool  # being deleted (or deleted / expired: REMOVE)


def parse_session_record(record: DynamoDBRecord) -> SessionChange | None:
    """A sessions-table stream record -> SessionChange; None for events, policies and other items."""
    data = record.dynamodb
    if data is None:
        return None
    removed = str(record.event_name.name if record.event_name else "") == "REMOVE"
    image = data.old_image if removed else data.new_image
    if not image:
        return None
    item = plain(image)
    if item.get("sk") != SESSION_SK or "tenant" not in item:
        return None
    old_seq = int(plain(data.old_image).get("last_seq", 0)) if data.old_image and not removed else 0
    session = session_from_plain(item)
    return SessionChange(
        tenant=item["tenant"],
        session=session,
        appended=not removed and session.event_count > old_seq,
        deleting=removed or "deleting" in item,
    )


def binary_as_bytes(image: Mapping[str, Any]) -> dict[str, Any]:
    """A stream image still in wire format, its base64 binary attributes (as Lambda delivers them) as
    bytes, which boto3's deserialiser wants (used by the procedures indexer)."""
    return {
        k: {"B": base64.b64decode(v["B"])} if isinstance(v, dict) and isinstance(v.get("B"), str) else v
        for k, v in image.items()
    }
