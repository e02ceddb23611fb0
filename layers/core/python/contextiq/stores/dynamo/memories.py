"""Memories and their revisions in one DynamoDB table: the system of record.

    pk = T#<tenant>#M#<memory_id>   sk = MEMORY       the memory (fact, scope, vector, version)
    pk = T#<tenant>#M#<memory_id>   sk = R#<ulid>     one revision per change, in order
    gsi1pk = T#<tenant>#SC#<scope_key>  gsi1sk = <memory_id>   (index by_scope; live memories only)

Every change is one transaction: the memory write (conditioned on the version read) plus its
revision. A deleted memory stays as a tombstone (``deleted_time``, next version, out of the scope
index, removed by TTL after ``TOMBSTONE_DAYS``) so the index and the revisions can tell it was deleted.
The vector is stored with the memory (float32 little-endian) so the index can be rebuilt without
calling the embedding model again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.definitions import MEMORIES_BY_SCOPE
from contextiq.errors import VersionConflictError
from contextiq.ids import epoch, epoch_ms, isoformat
from contextiq.models.memories import Memory, Revision, RevisionAction, Source, scope_key
from contextiq.stores.dynamo.base import (
    PageTokens,
    batch_get_items,
    dumps,
    from_item,
    is_condition_failure,
    is_transaction_conflict,
    loads_stored,
    query_full_page,
    to_item,
    values,
)

MEMORY_SK = "MEMORY"
TOMBSTONE_DAYS = 30


def memory_pk(tenant: str, memory_id: str) -> str:
    return f"T#{tenant}#M#{memory_id}"


def scope_pk(tenant: str, scope: dict[str, str]) -> str:
    return f"T#{tenant}#SC#{scope_key(scope)}"


def pack_vector(vector: Sequence[float]) -> bytes:
    import array

    packed = array.array("f", vector)
    return packed.tobytes()


def unpack_vector(raw: bytes) -> list[float]:
    import array

    unpacked = array.array("f")
    unpacked.frombytes(raw)
    return unpacked.tolist()


@dataclass(frozen=True)
class StoredMemory:
    """A memory as stored: the API model plus what only the store and the index need."""

    tenant: str
    memory: Memory
    vector: list[float] | None
    embedding_model: str | None
    deleted: bool = False

    @property
    def expire_at(self) -> int | None:
        return epoch(self.memory.expire_time) if self.memory.expire_time else None

    @property
    def event_time_ms(self) -> int:
        return epoch_ms(self.memory.event_time)


def parse_memory_item(raw: dict[str, Any]) -> StoredMemory:
    """A MEMORY item in wire format (GetItem, Query, Scan) -> StoredMemory."""
    return memory_from_plain(from_item(raw))


def memory_from_plain(item: dict[str, Any]) -> StoredMemory:
    """A MEMORY item as plain values (``from_item``, or a parsed stream image) -> StoredMemory."""
    expire_at = item.get("expire_at")
    source = json.loads(item["source"]) if item.get("source") else None
    memory = Memory(
        id=item["id"],
        scope=json.loads(item["scope"]),
        fact=item["fact"],
        topics=list(item.get("topics") or []),
        metadata=loads_stored(item.get("metadata", "{}")),
        source=Source(**source) if source else None,
        create_time=item["create_time"],
        update_time=item["update_time"],
        expire_time=None if item.get("deleted_time") or not expire_at else datetime.fromtimestamp(expire_at, UTC),
        event_time=item.get("event_time") or item["create_time"],  # items written before event_time existed
        version=item["version"],
    )
    vector = unpack_vector(item["vector"]) if item.get("vector") else None
    return StoredMemory(item["tenant"], memory, vector, item.get("embedding_model"), bool(item.get("deleted_time")))


class MemoryStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    def _memory_item(self, tenant: str, m: Memory, vector: Sequence[float], model: str) -> dict[str, Any]:
        return to_item(
            {
                "pk": memory_pk(tenant, m.id),
                "sk": MEMORY_SK,
                "tenant": tenant,
                "id": m.id,
                "scope": dumps(m.scope),
                "scope_key": scope_key(m.scope),
                "fact": m.fact,
                "topics": list(m.topics),
                "metadata": dumps(m.metadata),
                "source": dumps(m.source.model_dump()) if m.source else None,
                "create_time": isoformat(m.create_time),
                "update_time": isoformat(m.update_time),
                "event_time": isoformat(m.event_time),
                "expire_at": epoch(m.expire_time) if m.expire_time else None,
                "version": m.version,
                "vector": pack_vector(vector),
                "embedding_model": model,
                "gsi1pk": scope_pk(tenant, m.scope),
                "gsi1sk": m.id,
            }
        )

    def _revision_put(self, tenant: str, rev: Revision) -> dict[str, Any]:
        item = {
            "pk": memory_pk(tenant, rev.memory_id),
            "sk": f"R#{rev.revision_id}",
            "revision_id": rev.revision_id,
            "memory_id": rev.memory_id,
            "action": rev.action.value,
            "fact": rev.fact,
            "previous_fact": rev.previous_fact,
            "actor": rev.actor,
            "source": dumps(rev.source.model_dump()) if rev.source else None,
            "time": isoformat(rev.time),
            "version": rev.version,
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as err:
            if is_condition_failure(err) or is_transaction_conflict(err):
                raise VersionConflictError("the memory changed since it was read") from err
            raise

    def put(
        self,
        tenant: str,
        memory: Memory,
        vector: Sequence[float],
        model: str,
        revision: Revision,
        expected_version: int | None,
    ) -> None:
        """Create (``expected_version`` None) or replace a memory, with its revision, atomically."""
        condition = (
            "attribute_not_exists(pk)"
            if expected_version is None
            else "version = :expected AND attribute_not_exists(deleted_time)"
        )
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": self._memory_item(tenant, memory, vector, model),
            "ConditionExpression": condition,
        }
        if expected_version is not None:
            put["ExpressionAttributeValues"] = values(expected=expected_version)
        self._transact([{"Put": put}, self._revision_put(tenant, revision)])

    def tombstone(self, tenant: str, memory_id: str, expected_version: int, revision: Revision, now: datetime) -> None:
        """Mark deleted at ``expected_version + 1``, leave the scope index, expire the tombstone later."""
        update = {
            "TableName": self._table,
            "Key": to_item({"pk": memory_pk(tenant, memory_id), "sk": MEMORY_SK}),
            "UpdateExpression": "SET deleted_time = :now, update_time = :now, version = :next, expire_at = :gone "
            "REMOVE gsi1pk, gsi1sk, vector",
            "ConditionExpression": "version = :expected AND attribute_not_exists(deleted_time)",
            "ExpressionAttributeValues": values(
                now=isoformat(now),
                next=expected_version + 1,
                expected=expected_version,
                gone=epoch(now) + TOMBSTONE_DAYS * 86400,
            ),
        }
        self._transact([{"Update": update}, self._revision_put(tenant, revision)])

    def get(self, tenant: str, memory_id: str) -> StoredMemory | None:
        """The stored memory (live or tombstone), or None."""
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": memory_pk(tenant, memory_id), "sk": MEMORY_SK}),
            ConsistentRead=True,
        )
        raw = resp.get("Item")
        return parse_memory_item(raw) if raw else None

    def get_many(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, StoredMemory]:
        """BatchGetItem in chunks of 100 (unprocessed keys retried)."""
        ids = list(dict.fromkeys(memory_ids))
        keys = [to_item({"pk": memory_pk(tenant, i), "sk": MEMORY_SK}) for i in ids]
        stored = (parse_memory_item(raw) for raw in batch_get_items(self._ddb, self._table, keys))
        return {s.memory.id: s for s in stored}

    def list_scope(
        self,
        tenant: str,
        scope: dict[str, str],
        topic: str | None,
        limit: int,
        token: str | None,
        *,
        now: datetime,
    ) -> tuple[list[StoredMemory], str | None]:
        pk = scope_pk(tenant, scope)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": MEMORIES_BY_SCOPE.name,
            "KeyConditionExpression": "gsi1pk = :pk",
            "Limit": limit,
        }
        filters = ["(attribute_not_exists(expire_at) OR expire_at > :now)"]
        vals: dict[str, Any] = {"pk": pk, "now": epoch(now)}
        if topic is not None:
            filters.append("contains(topics, :topic)")
            vals["topic"] = topic  # element of the topics list
        kwargs["FilterExpression"] = " AND ".join(filters)
        kwargs["ExpressionAttributeValues"] = values(**vals)
        binding = json.dumps(["memories", tenant, scope_key(scope), topic])
        start = self._tokens.decode(token, binding, {"gsi1pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [parse_memory_item(i) for i in raw], self._tokens.encode(last, binding)

    def revisions(
        self, tenant: str, memory_id: str, limit: int, token: str | None
    ) -> tuple[list[Revision], str | None]:
        pk = memory_pk(tenant, memory_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :r)",
            "ExpressionAttributeValues": values(pk=pk, r="R#"),
            "Limit": limit,
            "ConsistentRead": True,
        }
        binding = json.dumps(["revisions", tenant, memory_id])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._ddb.query(**kwargs)
        revisions = []
        for raw in resp.get("Items", []):
            item = from_item(raw)
            source = json.loads(item["source"]) if item.get("source") else None
            revisions.append(
                Revision(
                    revision_id=item["revision_id"],
                    memory_id=item["memory_id"],
                    action=RevisionAction(item["action"]),
                    fact=item["fact"],
                    previous_fact=item.get("previous_fact"),
                    actor=item["actor"],
                    source=Source(**source) if source else None,
                    time=item["time"],
                    version=item["version"],
                )
            )
        return revisions, self._tokens.encode(resp.get("LastEvaluatedKey"), binding)

    def scan_all(self, segment: int = 0, total_segments: int = 1) -> Iterator[StoredMemory]:
        """Every MEMORY item (live and tombstones) of every tenant: for scripts/reindex.py."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :m",
            "ExpressionAttributeValues": values(m=MEMORY_SK),
            "Segment": segment,
            "TotalSegments": total_segments,
        }
        while True:
            resp = self._ddb.scan(**kwargs)
            for raw in resp.get("Items", []):
                yield parse_memory_item(raw)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
