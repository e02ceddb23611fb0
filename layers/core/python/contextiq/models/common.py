"""Shared pydantic types: identifiers, metadata, pages."""

from __future__ import annotations

import json
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from contextiq import limits

T = TypeVar("T")

# Identifiers supplied by clients (user ids, app names, authors, scope keys/values). '#' is reserved as
# the key separator in DynamoDB; control characters are refused.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=r"^[^#\x00-\x1f\x7f]+$"),
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


Metadata = Annotated[dict[Name, Any], AfterValidator(_check_metadata)]
TtlSeconds = Annotated[int, Field(ge=limits.MIN_TTL_SECONDS, le=limits.MAX_TTL_SECONDS)]


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_token: str | None = None
