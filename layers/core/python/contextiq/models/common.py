"""Shared pydantic types: identifiers, free-form JSON objects, timestamps, pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from contextiq import limits

T = TypeVar("T")

# Identifiers supplied by clients (user ids, app names, authors, scope keys/values). '#' is reserved as
# the key separator in DynamoDB; control characters are refused.
NAME_PATTERN = r"^[^#\x00-\x1f\x7f]+$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=NAME_PATTERN),
]


def json_size(value: Any) -> int:
    """Bytes of the compact JSON encoding, the measure every size limit uses."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > limits.MAX_METADATA_KEYS:
        raise ValueError(f"at most {limits.MAX_METADATA_KEYS} keys allowed, got {len(value)}")
    if json_size(value) > limits.MAX_METADATA_BYTES:
        raise ValueError(f"at most {limits.MAX_METADATA_BYTES} bytes of JSON allowed")
    return value


Metadata = Annotated[
    dict[Name, Any],
    Field(max_length=limits.MAX_METADATA_KEYS),
    AfterValidator(_check_metadata),
]
TtlSeconds = Annotated[int, Field(ge=limits.MIN_TTL_SECONDS, le=limits.MAX_TTL_SECONDS)]


def _utc_millis(value: datetime) -> datetime:
    """Any ISO-8601 time -> UTC at millisecond precision (what the tables store, so reads match writes).

    A time without an offset is taken as UTC. Times whose UTC form falls outside years 1-9999
    (``9999-12-31T23:59:59-14:00``) are refused instead of overflowing later.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time in UTC is outside years 0001-9999") from None
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


Timestamp = Annotated[datetime, AfterValidator(_utc_millis)]


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a listing (``SessionPage`` etc. in the OpenAPI document); no ``next_token`` on the last."""

    items: list[T]
    next_token: str | None = None
