"""Small helpers shared by the DynamoDB repositories."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from contextiq.errors import FieldProblem, InvalidInputError
from contextiq.retry import Backoff, attempts

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values (None values are left out)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> Item:
    out: Item = {}
    for key, value in item.items():
        plain = _deserializer.deserialize(value)
        if hasattr(plain, "as_integer_ratio") and not isinstance(plain, int | float):
            plain = int(plain) if plain == int(plain) else float(plain)  # Decimal -> int/float
        if isinstance(plain, bytes | bytearray) or type(plain).__name__ == "Binary":
            plain = bytes(plain.value) if hasattr(plain, "value") else bytes(plain)
        out[key] = plain
    return out


def dumps(value: Any) -> str:
    """Compact JSON for attributes stored as strings (state, metadata, content keep their exact JSON)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def query_full_page(client: Any, kwargs: dict[str, Any], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Query until ``limit`` items or the end: a FilterExpression can leave a DynamoDB page short.

    Returns the raw items and the next page token.
    """
    items: list[dict[str, Any]] = []
    kwargs = {**kwargs, "Limit": limit}
    while True:
        resp = client.query(**kwargs)
        items.extend(resp.get("Items", []))
        last = resp.get("LastEvaluatedKey")
        if not last or len(items) >= limit:
            return items, encode_token(last)
        kwargs["ExclusiveStartKey"] = last
        kwargs["Limit"] = limit - len(items)


def values(**kwargs: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(v=1) -> {":v": {"N": "1"}}."""
    return {f":{k}": _serializer.serialize(v) for k, v in kwargs.items()}


def encode_token(last_key: Mapping[str, Any] | None) -> str | None:
    """LastEvaluatedKey -> opaque, URL-safe page token."""
    if not last_key:
        return None
    raw = json.dumps(from_item(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, expected: Mapping[str, str]) -> dict[str, Any] | None:
    """Page token -> ExclusiveStartKey. ``expected`` pins attributes (the partition key) so a token
    can never move a query to another tenant's partition."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, dict) or not all(isinstance(v, str | int) for v in key.values()):
            raise ValueError("bad key")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            "next_token is not a token this API issued", [FieldProblem("query.next_token", "malformed")]
        ) from exc
    for attr, value in expected.items():
        if key.get(attr) != value:
            raise InvalidInputError(
                "next_token belongs to another listing",
                [FieldProblem("query.next_token", "does not match this query")],
            )
    return to_item(key)


def is_condition_failure(error: ClientError) -> bool:
    """True for a failed ConditionExpression, in a single write or inside a transaction."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return True
        return "ConditionalCheckFailed" in str(error)
    return False


def is_transaction_conflict(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "TransactionConflictException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "TransactionConflict" for r in reasons)
    return False


# Batch calls hand back what DynamoDB did not get to (throttling): resend it after an exponential pause,
# as the BatchWriteItem / BatchGetItem API references recommend, a bounded number of times.
BATCH_ATTEMPTS = 8
BATCH_BACKOFF = Backoff(base=0.05, cap=1.0)
batch_sleep: Callable[[float], None] = time.sleep  # tests replace it


def batch_attempts() -> Iterator[int]:
    return attempts(BATCH_ATTEMPTS, BATCH_BACKOFF, batch_sleep)
