"""Checkpoints, the state history and fork writes, in the sessions table (layout: sessions.py).

A checkpoint is one item (``C#<checkpoint_id>``) in its session's partition, written in one
TransactWriteItems with an update of the session item that checks the version it was read at (so the
state it holds is exactly the state at its seq) and counts the session's checkpoints against the limit.

A fork is written in BatchWriteItem calls of at most 25 puts (events, then patches), the session item
last with ``attribute_not_exists``. Until that item exists nothing of the fork is visible: every read
(get, events, listings, episodes) goes through the session item, so a fork interrupted half-way leaves
only unreachable items behind, never a half-fork. Those are found again by a **marker**
(``F#<fork_id>`` in the source's partition, written before the first copy): the session item is put
and the marker deleted in one transaction, so a marker that outlives its request names an abandoned
fork, whose items ``discard_fork`` deletes (services/branches.py says when).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.errors import ConflictError, FieldProblem, VersionConflictError
from contextiq.ids import epoch, isoformat
from contextiq.models.checkpoints import Checkpoint, StateChange, StateLog
from contextiq.models.sessions import Event, Session
from contextiq.stores.dynamo.base import (
    PageTokens,
    batch_attempts,
    dumps,
    from_item,
    is_condition_failure,
    is_transaction_conflict,
    loads_stored,
    to_item,
    values,
)
from contextiq.stores.dynamo.sessions import (
    SEQ_WIDTH,
    SESSION_SK,
    event_from_item,
    event_item,
    event_sk,
    patch_from_item,
    patch_item,
    patch_sk,
    session_item,
    session_pk,
)

# BatchWriteItem takes at most 25 put/delete requests per call (and 16 MB; items are at most 400 KB, so
# 25 of them stay under it): https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
BATCH_WRITE_ITEMS = 25


def checkpoint_sk(checkpoint_id: str) -> str:
    return f"C#{checkpoint_id}"


def fork_marker_sk(fork_id: str) -> str:
    return f"F#{fork_id}"  # sorts before SESSION: deleting the source removes its markers with it


class SessionBranchStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    # -- state history --------------------------------------------------------------------------

    def state_log(self, tenant: str, session_id: str) -> StateLog:
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": session_pk(tenant, session_id), "sk": SESSION_SK}),
            ProjectionExpression="state0",
            ConsistentRead=True,
        )
        raw = from_item(resp.get("Item") or {})
        return StateLog(initial=loads_stored(raw["state0"]) if "state0" in raw else None)

    def patches(self, tenant: str, session_id: str, upto_seq: int) -> list[StateChange]:
        """The PATCHes made while the last seq was at most ``upto_seq``, in (seq, version) order."""
        items = self._query_range(session_pk(tenant, session_id), patch_sk(0, 0), patch_sk(upto_seq, 10**SEQ_WIDTH - 1))
        return [patch_from_item(i) for page in items for i in page]

    def event_pages(self, tenant: str, session_id: str, upto_seq: int) -> Iterator[list[tuple[Event, int | None]]]:
        """Events 1..``upto_seq`` in seq order, a DynamoDB page (at most 1 MB) at a time, each with the
        session version its append made (None for events stored before versions were kept)."""
        for page in self._query_range(session_pk(tenant, session_id), event_sk(1), event_sk(upto_seq)):
            yield [(event_from_item(session_id, i), i.get("version")) for i in page]

    def _query_range(self, pk: str, lo: str, hi: str) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": values(pk=pk, lo=lo, hi=hi),
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            yield [from_item(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # -- checkpoints ----------------------------------------------------------------------------

    def put_checkpoint(self, tenant: str, session: Session, checkpoint: Checkpoint, max_count: int) -> None:
        """Store ``checkpoint`` if the session is still at ``session.version`` and has fewer than
        ``max_count`` checkpoints (409 then); a changed version raises VersionConflictError."""
        pk = session_pk(tenant, session.id)
        count = {
            "TableName": self._table,
            "Key": to_item({"pk": pk, "sk": SESSION_SK}),
            "UpdateExpression": "SET checkpoint_count = if_not_exists(checkpoint_count, :zero) + :one",
            "ConditionExpression": "version = :v AND attribute_not_exists(deleting) "
            "AND (attribute_not_exists(checkpoint_count) OR checkpoint_count < :max)",
            "ExpressionAttributeValues": values(v=session.version, zero=0, one=1, max=max_count),
        }
        put = {
            "TableName": self._table,
            "Item": self._checkpoint_item(tenant, checkpoint),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._ddb.transact_write_items(TransactItems=[{"Update": count}, {"Put": put}])
        except ClientError as err:
            if not (is_condition_failure(err) or is_transaction_conflict(err)):
                raise
            if self._checkpoint_count(pk) >= max_count:
                raise ConflictError(
                    f"the session has {max_count} checkpoints, the most it may have; delete one first",
                    [FieldProblem("path.session_id", f"at most {max_count} checkpoints per session")],
                ) from err
            raise VersionConflictError("the session changed since it was read") from err

    def _checkpoint_count(self, pk: str) -> int:
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": pk, "sk": SESSION_SK}),
            ProjectionExpression="checkpoint_count",
            ConsistentRead=True,
        )
        return int(from_item(resp.get("Item") or {}).get("checkpoint_count", 0))

    @staticmethod
    def _checkpoint_item(tenant: str, c: Checkpoint) -> dict[str, Any]:
        return to_item(
            {
                "pk": session_pk(tenant, c.session_id),
                "sk": checkpoint_sk(c.checkpoint_id),
                "id": c.checkpoint_id,
                "session_id": c.session_id,
                "name": c.name,
                "metadata": dumps(c.metadata),
                "seq": c.seq,
                "state": dumps(c.state),
                "version": c.version,
                "create_time": isoformat(c.create_time),
                "expire_at": epoch(c.expire_time) if c.expire_time else None,
            }
        )

    @staticmethod
    def _to_checkpoint(item: dict[str, Any]) -> Checkpoint:
        expire_at = item.get("expire_at")
        return Checkpoint(
            checkpoint_id=item["id"],
            session_id=item["session_id"],
            name=item.get("name"),
            metadata=loads_stored(item["metadata"]),
            seq=item["seq"],
            state=loads_stored(item["state"]),
            version=item["version"],
            create_time=item["create_time"],
            expire_time=datetime.fromtimestamp(expire_at, UTC) if expire_at else None,
        )

    def get_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> Checkpoint | None:
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": session_pk(tenant, session_id), "sk": checkpoint_sk(checkpoint_id)}),
            ConsistentRead=True,
        )
        raw = resp.get("Item")
        return self._to_checkpoint(from_item(raw)) if raw else None

    def list_checkpoints(
        self, tenant: str, session_id: str, limit: int, token: str | None
    ) -> tuple[list[Checkpoint], str | None]:
        pk = session_pk(tenant, session_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :c)",
            "ExpressionAttributeValues": values(pk=pk, c="C#"),
            "Limit": limit,
            "ConsistentRead": True,
        }
        binding = json.dumps(["checkpoints", tenant, session_id])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._ddb.query(**kwargs)
        items = [self._to_checkpoint(from_item(i)) for i in resp.get("Items", [])]
        return items, self._tokens.encode(resp.get("LastEvaluatedKey"), binding)

    def delete_checkpoint(self, tenant: str, session_id: str, checkpoint_id: str) -> bool:
        """Delete the checkpoint and uncount it; False when there is no such checkpoint."""
        pk = session_pk(tenant, session_id)
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": to_item({"pk": pk, "sk": checkpoint_sk(checkpoint_id)}),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_item({"pk": pk, "sk": SESSION_SK}),
                            "UpdateExpression": "SET checkpoint_count = checkpoint_count - :one",
                            "ConditionExpression": "attribute_not_exists(deleting) AND checkpoint_count > :zero",
                            "ExpressionAttributeValues": values(one=1, zero=0),
                        }
                    },
                ]
            )
        except ClientError as err:
            if is_condition_failure(err):
                return False
            if is_transaction_conflict(err):
                raise VersionConflictError("a concurrent write to the session won the race") from err
            raise
        return True

    # -- forks ----------------------------------------------------------------------------------

    def put_fork_items(
        self,
        tenant: str,
        fork: Session,
        events: Sequence[tuple[Event, int | None]],
        patches: Sequence[StateChange] = (),
    ) -> None:
        """Write copied events (each with its version) and patches into the fork's partition."""
        items = [event_item(tenant, fork, e, v) for e, v in events] + [patch_item(tenant, fork, p) for p in patches]
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            self._batch_put(items[start : start + BATCH_WRITE_ITEMS])

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        self._batch_write([{"PutRequest": {"Item": i}} for i in items], "unprocessed writes; retry the fork")

    def put_fork_session(self, tenant: str, fork: Session, state0: dict[str, Any] | None) -> None:
        """Write the fork's session item, the last write of a fork, which makes it visible, and delete its
        marker in the same transaction (two different items; TransactWriteItems allows that)."""
        put = {
            "TableName": self._table,
            "Item": session_item(tenant, fork, state0=state0),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if fork.forked_from is None:
            self._ddb.put_item(**put)
            return
        marker = to_item({"pk": session_pk(tenant, fork.forked_from.session_id), "sk": fork_marker_sk(fork.id)})
        self._ddb.transact_write_items(
            TransactItems=[{"Put": put}, {"Delete": {"TableName": self._table, "Key": marker}}]
        )

    # -- abandoned forks ------------------------------------------------------------------------

    def put_fork_marker(self, tenant: str, source: Session, fork_id: str, now: datetime) -> None:
        """Before a fork's first copy: ``F#<fork_id>`` in the source's partition (with the source's TTL)."""
        self._ddb.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": session_pk(tenant, source.id),
                    "sk": fork_marker_sk(fork_id),
                    "fork_id": fork_id,
                    "create_time": isoformat(now),
                    "expire_at": epoch(source.expire_time) if source.expire_time else None,
                }
            ),
        )

    def fork_markers(self, tenant: str, source_id: str) -> list[tuple[str, datetime]]:
        """The forks of ``source_id`` begun and not (yet) finished: (fork id, when begun)."""
        found = []
        for page in self._query_prefix(session_pk(tenant, source_id), "F#"):
            for item in page:
                found.append((item["fork_id"], datetime.fromisoformat(item["create_time"])))
        return found

    def discard_fork(self, tenant: str, source_id: str, fork_id: str) -> int:
        """Delete what an unfinished fork wrote (unless its session item exists after all), then its
        marker; returns the number of items deleted. Safe to repeat."""
        pk = session_pk(tenant, fork_id)
        deleted = 0
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": values(pk=pk),
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            keys.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        if not any(from_item(k)["sk"] == SESSION_SK for k in keys):
            for start in range(0, len(keys), BATCH_WRITE_ITEMS):
                self._batch_delete(keys[start : start + BATCH_WRITE_ITEMS])
            deleted = len(keys)
        self._ddb.delete_item(
            TableName=self._table, Key=to_item({"pk": session_pk(tenant, source_id), "sk": fork_marker_sk(fork_id)})
        )
        return deleted

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": k}} for k in keys], "unprocessed deletes; retry")

    def _batch_write(self, writes: list[dict[str, Any]], what: str) -> None:
        """One BatchWriteItem, its unprocessed items sent again with backoff until none are left."""
        requests: dict[str, Any] = {self._table: writes}
        for _ in batch_attempts():
            resp = self._ddb.batch_write_item(RequestItems=requests)
            requests = resp.get("UnprocessedItems") or {}
            if not requests:
                return
        raise RuntimeError(f"DynamoDB kept returning {what}")

    def _query_prefix(self, pk: str, prefix: str) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": values(pk=pk, prefix=prefix),
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.query(**kwargs)
            yield [from_item(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
