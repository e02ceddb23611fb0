"""Change events -> a custom EventBridge bus (PutEvents), with the per-entry failures PutEvents reports.

AWS facts this relies on (cited in docs/notifications.md):
- PutEvents takes at most 10 entries per call (API reference, ``Entries`` array 1-10 items).
- The total entry size of one call must be under 256 KB, counted as Time (14 bytes) + Source + DetailType +
  Detail + Resources in UTF-8 ("Calculating PutEvents event entry size").
- A call can succeed with some entries failed: ``FailedEntryCount`` > 0 and those entries carry an
  ``ErrorCode``; the caller must send them again ("Sending events with PutEvents").
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from typing import Any

from contextiq.models.notifications import EVENT_SOURCE, ChangeEvent
from contextiq.retry import Backoff, attempts

MAX_ENTRIES_PER_CALL = 10
MAX_CALL_BYTES = 256 * 1024
TIME_ENTRY_BYTES = 14
ATTEMPTS = 4
BACKOFF = Backoff(base=0.2, cap=2.0, floor=0.5)


class PublishError(Exception):
    """Some events could not be put after every attempt (the stream record is retried, then DLQ'd)."""


def entry_size(entry: dict[str, Any]) -> int:
    size = TIME_ENTRY_BYTES if "Time" in entry else 0
    size += len(entry["Source"].encode()) + len(entry["DetailType"].encode()) + len(entry["Detail"].encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources", []))


def to_entry(event: ChangeEvent, bus_name: str) -> dict[str, Any]:
    return {
        "Time": event.time,
        "Source": EVENT_SOURCE,
        "DetailType": event.type,
        "Detail": event.model_dump_json(),
        "EventBusName": bus_name,
    }


def chunks(entries: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Calls of at most 10 entries and under 256 KB each (an entry over the limit alone is refused)."""
    calls: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        n = entry_size(entry)
        if n >= MAX_CALL_BYTES:
            raise PublishError(f"event {entry['DetailType']} is {n} bytes; PutEvents takes under {MAX_CALL_BYTES}")
        if current and (len(current) == MAX_ENTRIES_PER_CALL or size + n >= MAX_CALL_BYTES):
            calls.append(current)
            current, size = [], 0
        current.append(entry)
        size += n
    if current:
        calls.append(current)
    return calls


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, sleep: Callable[[float], None] = _time.sleep) -> None:
        self._events = client
        self._bus = bus_name
        self._sleep = sleep

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Put every event, resending the entries a call reports failed; PublishError if some never go."""
        for call in chunks([to_entry(e, self._bus) for e in events]):
            pending = call
            for _ in attempts(ATTEMPTS, BACKOFF, self._sleep):
                resp = self._events.put_events(Entries=pending)
                if not resp.get("FailedEntryCount"):
                    pending = []
                    break
                # Response entries are in request order; failed ones carry an ErrorCode.
                pending = [e for e, r in zip(pending, resp["Entries"], strict=True) if r.get("ErrorCode")]
            if pending:
                codes = sorted({str(r.get("ErrorCode")) for r in resp["Entries"] if r.get("ErrorCode")})
                raise PublishError(
                    f"{len(pending)} event(s) not accepted by EventBridge after {ATTEMPTS} tries: {codes}"
                )
