"""Trajectories in the procedures table. A trajectory is written once and never changed.

    pk = T#<tenant>#TR#<trajectory_id>   sk = TRAJECTORY   task, steps, outcome, the task's vector
    gsi1pk = T#<tenant>#TS#<scope_key>    gsi1sk = <trajectory_id>   (index by_scope)

A delete removes the item (DeleteItem); its stream REMOVE record takes the document out of the index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.errors import ConflictError
from contextiq.ids import epoch, isoformat
from contextiq.models.memories import scope_key
from contextiq.models.trajectories import Outcome, Trajectory, TrajectoryStep
from contextiq.stores.dynamo.base import (
    PageTokens,
    batch_get_items,
    dumps,
    from_item,
    is_condition_failure,
    query_full_page,
    to_item,
    values,
)
from contextiq.stores.dynamo.memories import pack_vector, unpack_vector

TRAJECTORY_SK = "TRAJECTORY"
TRAJECTORY_VERSION = 1  # trajectories are immutable: the index holds version 1, a delete is version 2


def trajectory_pk(tenant: str, trajectory_id: str) -> str:
    return f"T#{tenant}#TR#{trajectory_id}"


def trajectory_scope_pk(tenant: str, scope: dict[str, str]) -> str:
    return f"T#{tenant}#TS#{scope_key(scope)}"


@dataclass(frozen=True)
class StoredTrajectory:
    tenant: str
    trajectory: Trajectory
    vector: list[float] | None
    embedding_model: str | None


def parse_trajectory_item(raw: dict[str, Any]) -> StoredTrajectory:
    item = from_item(raw)
    expire_at = item.get("expire_at")
    trajectory = Trajectory(
        id=item["id"],
        scope=json.loads(item["scope"]),
        task=item["task"],
        steps=[TrajectoryStep(**s) for s in json.loads(item["steps"])],
        outcome=Outcome(**json.loads(item["outcome"])),
        session_id=item.get("session_id"),
        event_ids=list(item.get("event_ids") or []),
        metadata=json.loads(item.get("metadata", "{}")),
        create_time=item["create_time"],
        expire_time=datetime.fromtimestamp(expire_at, UTC) if expire_at else None,
    )
    vector = unpack_vector(item["vector"]) if item.get("vector") else None
    return StoredTrajectory(item["tenant"], trajectory, vector, item.get("embedding_model"))


class TrajectoryStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    def _key(self, tenant: str, trajectory_id: str) -> dict[str, Any]:
        return to_item({"pk": trajectory_pk(tenant, trajectory_id), "sk": TRAJECTORY_SK})

    def put(self, tenant: str, t: Trajectory, vector: Sequence[float], model: str) -> None:
        item = {
            "pk": trajectory_pk(tenant, t.id),
            "sk": TRAJECTORY_SK,
            "tenant": tenant,
            "id": t.id,
            "scope": dumps(t.scope),
            "task": t.task,
            "steps": dumps([s.model_dump(mode="json", exclude_none=True) for s in t.steps]),
            "outcome": dumps(t.outcome.model_dump(mode="json", exclude_none=True)),
            "outcome_status": t.outcome.status,
            "session_id": t.session_id,
            "event_ids": list(t.event_ids) or None,
            "metadata": dumps(t.metadata),
            "create_time": isoformat(t.create_time),
            "expire_at": epoch(t.expire_time) if t.expire_time else None,
            "vector": pack_vector(vector),
            "embedding_model": model,
            "gsi1pk": trajectory_scope_pk(tenant, t.scope),
            "gsi1sk": t.id,
        }
        try:
            self._ddb.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as err:
            if is_condition_failure(err):
                raise ConflictError(f"trajectory {t.id} already exists") from err
            raise

    def get(self, tenant: str, trajectory_id: str) -> StoredTrajectory | None:
        resp = self._ddb.get_item(TableName=self._table, Key=self._key(tenant, trajectory_id), ConsistentRead=True)
        raw = resp.get("Item")
        return parse_trajectory_item(raw) if raw else None

    def get_many(self, tenant: str, trajectory_ids: Sequence[str]) -> dict[str, StoredTrajectory]:
        keys = [self._key(tenant, i) for i in dict.fromkeys(trajectory_ids)]
        stored = (parse_trajectory_item(raw) for raw in batch_get_items(self._ddb, self._table, keys))
        return {s.trajectory.id: s for s in stored}

    def delete(self, tenant: str, trajectory_id: str) -> bool:
        """True when it existed."""
        resp = self._ddb.delete_item(
            TableName=self._table, Key=self._key(tenant, trajectory_id), ReturnValues="ALL_OLD"
        )
        return bool(resp.get("Attributes"))

    def list_scope(
        self, tenant: str, scope: dict[str, str], outcome: str | None, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[StoredTrajectory], str | None]:
        pk = trajectory_scope_pk(tenant, scope)
        filters = ["(attribute_not_exists(expire_at) OR expire_at > :now)"]
        vals: dict[str, Any] = {"pk": pk, "now": epoch(now)}
        if outcome is not None:
            filters.append("outcome_status = :o")
            vals["o"] = outcome
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_scope",
            "KeyConditionExpression": "gsi1pk = :pk",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeValues": values(**vals),
        }
        binding = json.dumps(["trajectories", tenant, pk, outcome])
        start = self._tokens.decode(token, binding, {"gsi1pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [parse_trajectory_item(i) for i in raw], self._tokens.encode(last, binding)

    def scan_all(self) -> Iterator[StoredTrajectory]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :t",
            "ExpressionAttributeValues": values(t=TRAJECTORY_SK),
        }
        while True:
            resp = self._ddb.scan(**kwargs)
            for raw in resp.get("Items", []):
                yield parse_trajectory_item(raw)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
