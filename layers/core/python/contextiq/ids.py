"""Identifiers and clocks: ULIDs sort by creation time; times are ISO-8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID


def new_id() -> str:
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(value: datetime) -> int:
    return int(value.timestamp())
