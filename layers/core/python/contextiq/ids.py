"""Identifiers and clocks: ULIDs sort by creation time; times are ISO-8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID


def new_id() -> str:
    return str(ULID())


def utcnow() -> datetime:
    """Now, to the millisecond (what the API and the tables store, so round trips compare equal)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def isoformat(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def epoch_ms(value: datetime) -> int:
    """Epoch milliseconds (the index's event_time unit: after/before compare at the API's precision)."""
    return round(value.timestamp() * 1000)
