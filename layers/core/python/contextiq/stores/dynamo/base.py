"""Small helpers shared by the DynamoDB repositories: item conversion, stored JSON, page tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from contextiq import limits
from contextiq.errors import FieldProblem, InvalidInputError
from contextiq.observability import logger
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


def loads_stored(text: str, max_depth: int = limits.MAX_JSON_DEPTH) -> Any:
    """A stored JSON attribute, safe to serialise in a response whatever was stored.

    Values written before the depth limit existed may nest deeper than a response can carry (pydantic
    refuses to serialise them, which made every read of the record a 500). Such a value is returned
    with each container below level ``max_depth`` replaced by its compact JSON text, so the record
    stays readable and nothing is lost; new writes cannot nest that deep.
    """
    value = json.loads(text)
    if not _deeper_than(value, max_depth):
        return value
    logger.warning("stored value nests deeper than the limit; deep parts returned as JSON text")
    return _clip(value, max_depth)


def _deeper_than(value: Any, max_depth: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _clip(value: Any, levels_left: int) -> Any:
    if not isinstance(value, dict | list):
        return value
    if levels_left <= 0:
        return dumps(value)
    if isinstance(value, dict):
        return {k: _clip(v, levels_left - 1) for k, v in value.items()}
    return [_clip(v, levels_left - 1) for v in value]


def query_full_page(
    client: Any, kwargs: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Query until ``limit`` items or the end: a FilterExpression can leave a DynamoDB page short.

    Returns the raw items and the LastEvaluatedKey (None at the end).
    """
    items: list[dict[str, Any]] = []
    kwargs = {**kwargs, "Limit": limit}
    while True:
        resp = client.query(**kwargs)
        items.extend(resp.get("Items", []))
        last = resp.get("LastEvaluatedKey")
        if not last or len(items) >= limit:
            return items, last or None
        kwargs["ExclusiveStartKey"] = last
        kwargs["Limit"] = limit - len(items)


def values(**kwargs: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(v=1) -> {":v": {"N": "1"}}."""
    return {f":{k}": _serializer.serialize(v) for k, v in kwargs.items()}


class PageTokens:
    """Opaque, tamper-evident page tokens, each bound to the listing that issued it.

    A token is ``version | nonce | ciphertext | tag`` in URL-safe base64: the last evaluated key as JSON,
    encrypted with a keystream of HMAC-SHA256(enc_key, nonce | counter) and authenticated with
    HMAC-SHA256(mac_key, binding | version | nonce | ciphertext) (encrypt-then-MAC). The binding names the
    listing and every filter (tenant, user, app, scope, topic, after_seq...), so a token replayed on
    another listing, altered or made up fails the tag check: 422, and DynamoDB is never called with it.
    Why hand-written: the Lambda layer has no cryptography library (``cryptography`` is a compiled
    dependency we do not ship); this construction uses only the standard library's HMAC-SHA256.
    """

    VERSION = 1
    NONCE_BYTES = 12
    TAG_BYTES = 16

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        """``key``: the stage's key, or a function that fetches it (called on first use only, so a
        function that never pages never fetches it)."""
        self._key_source = key
        self._keys: tuple[bytes, bytes] | None = None

    def _derived(self) -> tuple[bytes, bytes]:
        if self._keys is None:
            key = self._key_source() if callable(self._key_source) else self._key_source
            if len(key) < 16:
                raise ValueError("the page token key needs at least 16 bytes")
            enc = hmac.new(key, b"contextiq/page-token/enc", hashlib.sha256).digest()
            self._keys = enc, hmac.new(key, b"contextiq/page-token/mac", hashlib.sha256).digest()
        return self._keys

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        stream = b"".join(
            hmac.new(self._derived()[0], nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
        )
        return stream[:length]

    def _tag(self, binding: str, header: bytes, ciphertext: bytes) -> bytes:
        message = binding.encode() + b"\x00" + header + ciphertext
        return hmac.new(self._derived()[1], message, hashlib.sha256).digest()[: self.TAG_BYTES]

    def encode(self, last_key: Mapping[str, Any] | None, binding: str) -> str | None:
        """LastEvaluatedKey -> token (None at the end of the listing)."""
        if not last_key:
            return None
        return self.seal(json.dumps(from_item(last_key), separators=(",", ":"), sort_keys=True).encode(), binding)

    def seal(self, plain: bytes, binding: str) -> str:
        """Encrypt and authenticate ``plain`` for ``binding`` (also used for webhook secrets at rest)."""
        header = bytes([self.VERSION]) + secrets.token_bytes(self.NONCE_BYTES)
        ciphertext = bytes(a ^ b for a, b in zip(plain, self._keystream(header[1:], len(plain)), strict=True))
        raw = header + ciphertext + self._tag(binding, header, ciphertext)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def unseal(self, token: str, binding: str) -> bytes:
        """``seal``'s plain bytes; InvalidInputError when the token was altered or sealed for another binding."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            raw = b""
        head = 1 + self.NONCE_BYTES
        if len(raw) < head + self.TAG_BYTES + 2 or raw[0] != self.VERSION:
            raise _forged("not a token this API issued")
        header, ciphertext, tag = raw[:head], raw[head : -self.TAG_BYTES], raw[-self.TAG_BYTES :]
        if not hmac.compare_digest(tag, self._tag(binding, header, ciphertext)):
            raise _forged("issued for another listing, or altered")
        return bytes(a ^ b for a, b in zip(ciphertext, self._keystream(header[1:], len(ciphertext)), strict=True))

    def decode(self, token: str | None, binding: str, expected: Mapping[str, str]) -> dict[str, Any] | None:
        """Token -> ExclusiveStartKey, if this listing issued it; else InvalidInputError (422)."""
        if not token:
            return None
        key = json.loads(self.unseal(token, binding))
        for attr, value in expected.items():
            if key.get(attr) != value:  # cannot happen for a genuine token; defence in depth
                raise _forged("does not match this query")
        return to_item(key)


def _forged(why: str) -> InvalidInputError:
    return InvalidInputError(
        f"next_token is not valid for this listing: {why}; start again without next_token",
        [FieldProblem("query.next_token", why)],
    )


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


def batch_get_items(ddb: Any, table: str, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """BatchGetItem in chunks of 100 with consistent reads; unprocessed keys are resent with backoff."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": list(keys[start : start + 100]), "ConsistentRead": True}}
        for _ in batch_attempts():
            resp = ddb.batch_get_item(RequestItems=request)
            found.extend(resp.get("Responses", {}).get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
    return found
