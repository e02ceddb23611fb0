"""Procedures and their revisions in the procedures table (trajectories share it: see trajectories.py).

    pk = T#<tenant>#P#<procedure_id>   sk = PROCEDURE   the procedure (content, stats, vector, version)
    pk = T#<tenant>#P#<procedure_id>   sk = R#<ulid>    one revision per change, in order
    gsi1pk = T#<tenant>#PS#<scope_key>  gsi1sk = <procedure_id>   (index by_scope; live procedures only)

Content changes are UpdateItem (never a whole-item Put) conditioned on the version read, in one
transaction with their revision: outcome counters change by atomic ``ADD`` without a version bump, so
an edit can never overwrite a concurrent feedback. ``win_uses``/``win_successes`` count the outcomes
since the steps last changed; the deprecation rule reads them (services/procedures.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.errors import VersionConflictError
from contextiq.ids import epoch, isoformat
from contextiq.models.memories import scope_key
from contextiq.models.procedures import (
    Parameter,
    Pitfall,
    Procedure,
    ProcedureAction,
    ProcedureRevision,
    ProcedureStats,
    Provenance,
    Step,
)
from contextiq.stores.dynamo.base import (
    PageTokens,
    batch_get_items,
    dumps,
    from_item,
    is_condition_failure,
    is_transaction_conflict,
    query_full_page,
    to_item,
    values,
)
from contextiq.stores.dynamo.memories import TOMBSTONE_DAYS, pack_vector, unpack_vector

PROCEDURE_SK = "PROCEDURE"


def procedure_pk(tenant: str, procedure_id: str) -> str:
    return f"T#{tenant}#P#{procedure_id}"


def procedure_scope_pk(tenant: str, scope: dict[str, str]) -> str:
    return f"T#{tenant}#PS#{scope_key(scope)}"


@dataclass(frozen=True)
class StoredProcedure:
    tenant: str
    procedure: Procedure
    vector: list[float] | None
    embedding_model: str | None
    win_uses: int = 0
    win_successes: int = 0
    deleted: bool = False
    auto_status: bool = False  # the current status was set by the deprecation rule, not by hand


def _stats(item: dict[str, Any]) -> ProcedureStats:
    uses = int(item.get("uses", 0))
    successes = int(item.get("successes", 0))
    return ProcedureStats(
        uses=uses,
        successes=successes,
        failures=int(item.get("failures", 0)),
        success_rate=round(successes / uses, 4) if uses else None,
        last_used_time=item.get("last_used_time"),
    )


def parse_procedure_item(raw: dict[str, Any]) -> StoredProcedure:
    """A PROCEDURE item (GetItem, Query or a stream image) -> StoredProcedure."""
    item = from_item(raw)
    expire_at = item.get("expire_at")
    procedure = Procedure(
        id=item["id"],
        scope=json.loads(item["scope"]),
        kind=item["kind"],
        name=item["name"],
        description=item["description"],
        steps=[Step(**s) for s in json.loads(item["steps"])],
        parameters=[Parameter(**p) for p in json.loads(item.get("parameters", "[]"))],
        topics=list(item.get("topics") or []),
        metadata=json.loads(item.get("metadata", "{}")),
        status=item["status"],
        status_reason=item.get("status_reason"),
        stats=_stats(item),
        pitfalls=[Pitfall(**p) for p in json.loads(item.get("pitfalls", "[]"))],
        provenance=Provenance(**json.loads(item.get("provenance", "{}"))),
        create_time=item["create_time"],
        update_time=item["update_time"],
        expire_time=None if item.get("deleted_time") or not expire_at else datetime.fromtimestamp(expire_at, UTC),
        version=item["version"],
    )
    vector = unpack_vector(item["vector"]) if item.get("vector") else None
    return StoredProcedure(
        item["tenant"],
        procedure,
        vector,
        item.get("embedding_model"),
        int(item.get("win_uses", 0)),
        int(item.get("win_successes", 0)),
        bool(item.get("deleted_time")),
        bool(item.get("auto_status")),
    )


def content_attributes(p: Procedure) -> dict[str, Any]:
    """The attributes an edit may change (never the counters)."""
    return {
        "name": p.name,
        "description": p.description,
        "steps": dumps([s.model_dump(mode="json", exclude_none=True) for s in p.steps]),
        "parameters": dumps([x.model_dump(mode="json", exclude_none=True) for x in p.parameters]),
        "topics": list(p.topics),
        "metadata": dumps(p.metadata),
        "status": p.status.value,
        "status_reason": p.status_reason,
        "pitfalls": dumps([x.model_dump(mode="json") for x in p.pitfalls]),
        "provenance": dumps(p.provenance.model_dump()),
        "update_time": isoformat(p.update_time),
        "version": p.version,
    }


class ProcedureStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    def _key(self, tenant: str, procedure_id: str) -> dict[str, Any]:
        return to_item({"pk": procedure_pk(tenant, procedure_id), "sk": PROCEDURE_SK})

    def _revision_put(self, tenant: str, rev: ProcedureRevision) -> dict[str, Any]:
        item = {
            "pk": procedure_pk(tenant, rev.procedure_id),
            "sk": f"R#{rev.revision_id}",
            "body": rev.model_dump_json(exclude_none=True),
        }
        return {
            "Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as err:
            if is_condition_failure(err) or is_transaction_conflict(err):
                raise VersionConflictError("the procedure changed since it was read") from err
            raise

    def create(
        self, tenant: str, p: Procedure, vector: Sequence[float], model: str, revision: ProcedureRevision
    ) -> None:
        item = {
            "pk": procedure_pk(tenant, p.id),
            "sk": PROCEDURE_SK,
            "tenant": tenant,
            "id": p.id,
            "scope": dumps(p.scope),
            "kind": p.kind.value,
            "create_time": isoformat(p.create_time),
            "expire_at": epoch(p.expire_time) if p.expire_time else None,
            "vector": pack_vector(vector),
            "embedding_model": model,
            "uses": 0,
            "successes": 0,
            "failures": 0,
            "win_uses": 0,
            "win_successes": 0,
            "gsi1pk": procedure_scope_pk(tenant, p.scope),
            "gsi1sk": p.id,
            **content_attributes(p),
        }
        put = {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        self._transact([{"Put": put}, self._revision_put(tenant, revision)])

    def update(
        self,
        tenant: str,
        p: Procedure,
        expected_version: int,
        revision: ProcedureRevision,
        *,
        vector: Sequence[float] | None = None,
        model: str | None = None,
        reset_window: bool = False,
        auto_status: bool = False,
        window: tuple[int, int] | None = None,
    ) -> None:
        """Write ``p``'s content at ``p.version`` if the stored version is ``expected_version``.

        ``window`` (win_uses, win_successes) additionally requires the outcome counters not to have
        moved since they were read (the deprecation rule's decision depends on them).
        """
        attrs = content_attributes(p)
        attrs["auto_status"] = auto_status
        if vector is not None:
            attrs["vector"] = pack_vector(vector)
            attrs["embedding_model"] = model
        if reset_window:
            attrs["win_uses"] = 0
            attrs["win_successes"] = 0
        sets = [f"#{k} = :{k}" for k, v in attrs.items() if v is not None]
        removes = [f"#{k}" for k, v in attrs.items() if v is None]
        names = {f"#{k}": k for k in attrs}
        vals = {k: v for k, v in attrs.items() if v is not None}
        vals["expected"] = expected_version
        condition = "version = :expected AND attribute_not_exists(deleted_time)"
        if window is not None:
            condition += " AND win_uses = :wu AND win_successes = :ws"
            vals["wu"], vals["ws"] = window
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "TableName": self._table,
            "Key": self._key(tenant, p.id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values(**vals),
        }
        self._transact([{"Update": update}, self._revision_put(tenant, revision)])

    def record_outcome(self, tenant: str, procedure_id: str, success: bool, now: datetime) -> StoredProcedure | None:
        """Atomic counters (ADD): concurrent feedback never loses a count. None when no live procedure."""
        try:
            resp = self._ddb.update_item(
                TableName=self._table,
                Key=self._key(tenant, procedure_id),
                UpdateExpression="ADD uses :one, successes :s, failures :f, win_uses :one, win_successes :s "
                "SET last_used_time = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(deleted_time) "
                "AND (attribute_not_exists(expire_at) OR expire_at > :epoch)",
                ExpressionAttributeValues=values(
                    one=1, s=int(success), f=int(not success), now=isoformat(now), epoch=epoch(now)
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if is_condition_failure(err):
                return None
            raise
        return parse_procedure_item(resp["Attributes"])

    def tombstone(
        self, tenant: str, procedure_id: str, expected_version: int, revision: ProcedureRevision, now: datetime
    ) -> None:
        update = {
            "TableName": self._table,
            "Key": self._key(tenant, procedure_id),
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

    def get(self, tenant: str, procedure_id: str) -> StoredProcedure | None:
        resp = self._ddb.get_item(TableName=self._table, Key=self._key(tenant, procedure_id), ConsistentRead=True)
        raw = resp.get("Item")
        return parse_procedure_item(raw) if raw and raw.get("sk", {}).get("S") == PROCEDURE_SK else None

    def get_many(self, tenant: str, procedure_ids: Sequence[str]) -> dict[str, StoredProcedure]:
        keys = [self._key(tenant, i) for i in dict.fromkeys(procedure_ids)]
        stored = (parse_procedure_item(raw) for raw in batch_get_items(self._ddb, self._table, keys))
        return {s.procedure.id: s for s in stored}

    def list_scope(
        self,
        tenant: str,
        scope: dict[str, str],
        kind: str | None,
        status: str | None,
        limit: int,
        token: str | None,
        *,
        now: datetime,
    ) -> tuple[list[StoredProcedure], str | None]:
        pk = procedure_scope_pk(tenant, scope)
        filters = ["(attribute_not_exists(expire_at) OR expire_at > :now)"]
        vals: dict[str, Any] = {"pk": pk, "now": epoch(now)}
        names: dict[str, str] = {}
        if kind is not None:
            filters.append("#kind = :kind")
            names["#kind"] = "kind"
            vals["kind"] = kind
        if status is not None:
            filters.append("#status = :status")
            names["#status"] = "status"
            vals["status"] = status
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_scope",
            "KeyConditionExpression": "gsi1pk = :pk",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeValues": values(**vals),
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        binding = json.dumps(["procedures", tenant, pk, kind, status])
        start = self._tokens.decode(token, binding, {"gsi1pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [parse_procedure_item(i) for i in raw], self._tokens.encode(last, binding)

    def revisions(
        self, tenant: str, procedure_id: str, limit: int, token: str | None
    ) -> tuple[list[ProcedureRevision], str | None]:
        pk = procedure_pk(tenant, procedure_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :r)",
            "ExpressionAttributeValues": values(pk=pk, r="R#"),
            "Limit": limit,
            "ConsistentRead": True,
        }
        binding = json.dumps(["procedure-revisions", tenant, procedure_id])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._ddb.query(**kwargs)
        revisions = [ProcedureRevision.model_validate_json(from_item(raw)["body"]) for raw in resp.get("Items", [])]
        return revisions, self._tokens.encode(resp.get("LastEvaluatedKey"), binding)

    def scan_all(self) -> Iterator[StoredProcedure]:
        """Every PROCEDURE item (live and tombstones) of every tenant: for rebuilding the index."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :p",
            "ExpressionAttributeValues": values(p=PROCEDURE_SK),
        }
        while True:
            resp = self._ddb.scan(**kwargs)
            for raw in resp.get("Items", []):
                yield parse_procedure_item(raw)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


__all__ = ["PROCEDURE_SK", "ProcedureAction", "ProcedureStore", "StoredProcedure", "parse_procedure_item"]
