"""API key -> tenant and role. Only a SHA-256 of each key is stored, never the key itself.

Roles (RBAC): ``read`` (GET and search), ``write`` (everything on data), ``admin`` (keys and operations);
each includes the ones before it. A key recorded before roles existed has none and counts as ``write``,
the access it always had.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import boto3

from contextiq.ids import isoformat, utcnow
from contextiq.stores.dynamo.base import from_item, to_item

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")  # each includes the ones before it
LEGACY_ROLE: Role = "write"


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` includes ``needed`` (read < write < admin); an unknown role allows nothing."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True)
class Caller:
    tenant: str
    key_id: str
    role: str
    subject: str = ""  # the signed-in end user (JWT ``sub``) on stages with a JWT issuer


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, table_name: str, client: Any = None, cache_seconds: float = 0.0) -> None:
        self._table = table_name
        self._ddb = client or boto3.client("dynamodb")
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def put(self, api_key: str, tenant: str, key_id: str, name: str = "", role: Role = "write") -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self._ddb.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": "K#" + key_hash(api_key),
                    "tenant": tenant,
                    "key_id": key_id,
                    "name": name,
                    "role": role,
                    "create_time": isoformat(utcnow()),
                }
            ),
        )

    def resolve(self, api_key: str) -> str | None:
        """The tenant of ``api_key``, or None."""
        caller = self.resolve_caller(api_key)
        return caller.tenant if caller else None

    def resolve_caller(self, api_key: str) -> Caller | None:
        """Tenant, key id and role of ``api_key``, or None. Warm processes cache answers for ``cache_seconds``."""
        digest = key_hash(api_key)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        resp = self._ddb.get_item(TableName=self._table, Key=to_item({"pk": "K#" + digest}))
        item = from_item(resp["Item"]) if resp.get("Item") else None
        caller = Caller(item["tenant"], item.get("key_id", ""), item.get("role", LEGACY_ROLE)) if item else None
        if self._cache_seconds > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now + self._cache_seconds, caller)
        return caller

    def list(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self._table}
        while True:
            resp = self._ddb.scan(**kwargs)
            items.extend(from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def delete_by_key_id(self, key_id: str) -> int:
        """Remove the mapping(s) of an API Gateway key id (an admin operation: the table is small)."""
        removed = 0
        for item in self.list():
            if item.get("key_id") == key_id:
                self._ddb.delete_item(TableName=self._table, Key=to_item({"pk": item["pk"]}))
                removed += 1
        return removed
