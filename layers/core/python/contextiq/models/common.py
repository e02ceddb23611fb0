"""Shared pydantic types: identifiers, free-form JSON objects, timestamps, pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict, JsonValue

from contextiq import limits

T = TypeVar("T")

# Identifiers supplied by clients (user ids, app names, authors, scope keys/values). '#' is reserved as
# the key separator in DynamoDB; control characters are refused.
NAME_PATTERN = r"^[^#\x00-\x1f\x7f]+$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_ID_LENGTH, pattern=NAME_PATTERN),
]

# Free text is trimmed before it is stored, but its limits hold for the text as sent, so the document's
# minLength/maxLength/pattern are exact: "some non-space character", or for one-line names "no control
# character and some non-space one". "Space" is one explicit set, the union of what ECMA-262 (the JSON
# Schema dialect's regex), Python (str.strip) and pydantic's Rust regex call white space: ``\s`` differs
# between them (``\x1f`` is space to Python only, ``\ufeff`` to ECMA only, ``\x85`` not to ECMA), so a
# pattern with ``\s`` let a client send "\x1f", which the document calls non-blank, and read back "".
WHITE_SPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000\ufeff")
)
_SPACE_CLASS = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NON_BLANK = rf"[^{_SPACE_CLASS}]"
NON_BLANK_LINE = rf"^[^\u0000-\u001f\u007f]*[^\u0000-\u001f\u007f{_SPACE_CLASS}][^\u0000-\u001f\u007f]*$"


def _trim(value: str) -> str:
    return value.strip(WHITE_SPACE)


TRIM = AfterValidator(_trim)


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


# RFC 3339 date-time (what the schema's `format: date-time` says), the offset optional (naive = UTC).
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")


def _iso_time(value: object) -> object:
    """Only an ISO 8601 string (or a datetime, from our own code): pydantic's lax mode would also take
    ``0`` or ``"0"`` as Unix time, which the schema does not allow."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-11-30T12:00:00Z")


Timestamp = Annotated[datetime, BeforeValidator(_iso_time), AfterValidator(_utc_millis)]


def present(**types: str) -> list[JsonValue]:
    """JSON Schema branches "this field is given, not null", one per field (for anyOf/oneOf rules that
    a validator also enforces), e.g. ``present(fact="string", topics="array")``."""
    return [{"required": [name], "properties": {name: {"type": kind}}} for name, kind in types.items()]


NULL: JsonDict = {"type": "null"}


def _scalar_kind(annotation: Any) -> type | None:
    """``bool``, ``int`` or ``float`` when a field holds only that scalar (or null), else None."""
    kinds = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    kinds = tuple(k for k in kinds if k is not NoneType)
    if len(kinds) != 1:
        return None
    kind = get_args(kinds[0])[0] if get_origin(kinds[0]) is Annotated else kinds[0]
    return kind if kind in (bool, int, float) else None


class _WrongType:
    """Stands in for a value of the wrong JSON type, so pydantic refuses it at its own field."""


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped.

    JSON types are exact, as the OpenAPI document says: pydantic's lax mode would take ``"5"`` or
    ``true`` as a number and ``1`` or ``"yes"`` as a boolean. (``5.0`` stays an integer, as in JSON
    Schema.) Strict mode is not used because it also refuses ``5.0`` and enum strings.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _json_types(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        checked = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            kind = _scalar_kind(field.annotation) if field is not None else None
            if kind is None or value is None:
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if (kind is bool and not isinstance(value, bool)) or (kind is not bool and not number):
                checked[name] = _WrongType()
        return checked


class Page(BaseModel, Generic[T]):
    """One page of a listing (``SessionPage`` etc. in the OpenAPI document); no ``next_token`` on the last."""

    items: list[T]
    next_token: str | None = None
