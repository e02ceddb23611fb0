"""What the index holds for each record: the projections of a stored memory and of a stored event.

The service layer writes through with these and the stream indexer applies them again; both must build
the same document, so they live here, next to the index, rather than in one of the services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from contextiq.models.filters import metadata_attrs
from contextiq.models.memories import scope_key
from contextiq.models.sessions import Event
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.vector.base import IndexedMemory, Scalar, VectorIndex

EVENT_VERSION = 1  # events are immutable: indexed at 1, removed (session delete / TTL) at 2


def memory_document(stored: StoredMemory) -> IndexedMemory:
    assert stored.vector is not None
    return IndexedMemory(
        tenant=stored.tenant,
        memory_id=stored.memory.id,
        scope_key=scope_key(stored.memory.scope),
        fact=stored.memory.fact,
        topics=tuple(stored.memory.topics),
        vector=stored.vector,
        version=stored.memory.version,
        expire_at=stored.expire_at,
        event_time=stored.event_time_ms,
        attrs=metadata_attrs(stored.memory.metadata),
    )


def apply_memory(index: VectorIndex, stored: StoredMemory) -> None:
    """Make the index reflect ``stored`` (idempotent; older versions than the index holds are ignored)."""
    if stored.deleted or stored.vector is None:
        index.delete(stored.tenant, stored.memory.id, stored.memory.version)
    else:
        index.upsert([memory_document(stored)])


def events_partition(user_id: str) -> str:
    """The partition (``scope_key``) of one user's events: every app and session of the user."""
    return "events:" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def event_doc_id(session_id: str, seq: int) -> str:
    """An event's document id: its record key, so a hit is read back with one BatchGetItem."""
    return f"{session_id}/{seq}"


def parse_event_doc_id(doc_id: str) -> tuple[str, int]:
    session_id, _, seq = doc_id.rpartition("/")
    return session_id, int(seq)


def event_document(
    tenant: str,
    user_id: str,
    app_name: str | None,
    session_id: str,
    seq: int,
    author: str,
    text: str,
    timestamp_ms: int,
    vector: Sequence[float],
    expire_at: int | None,
    metadata: Mapping[str, Any] | None = None,
) -> IndexedMemory:
    attrs: dict[str, tuple[Scalar, ...]] = {
        **metadata_attrs(metadata or {}),
        "session_id": (session_id,),
        "author": (author,),
    }
    if app_name is not None:
        attrs["app_name"] = (app_name,)
    return IndexedMemory(
        tenant=tenant,
        memory_id=event_doc_id(session_id, seq),
        scope_key=events_partition(user_id),
        fact=text,
        topics=(),
        vector=vector,
        version=EVENT_VERSION,
        expire_at=expire_at,
        event_time=timestamp_ms,
        attrs=attrs,
        kind="event",
    )


def event_text(event: Event) -> str:
    """The searchable text of an event: ``content.text`` and the ``text`` of its parts."""
    pieces: list[str] = []
    text = event.content.get("text")
    if isinstance(text, str):
        pieces.append(text)
    for part in event.content.get("parts") or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
    return "\n".join(p.strip() for p in pieces if p.strip())
