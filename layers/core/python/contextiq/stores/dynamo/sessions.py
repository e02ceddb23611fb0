"""Sessions and events in one DynamoDB table.

Layout (tenant in every key, so one tenant's requests can only ever address its own partitions):

    pk = T#<tenant>#S#<session_id>   sk = SESSION          the session (state, version, last_seq)
    pk = T#<tenant>#S#<session_id>   sk = E#<seq:010d>     one event per item, in seq order
    pk = T#<tenant>#S#<session_id>   sk = P#<seq:010d>#<version:010d>   one PATCH of the state
    pk = T#<tenant>#S#<session_id>   sk = C#<checkpoint_id>             a checkpoint
    gsi1pk = T#<tenant>#U#<user_id>  gsi1sk = A#<app_name>#<session_id>   (index by_user)

An append is one transaction: bump ``last_seq``/``version`` on the session with a condition on the
version read, and put the event at the new seq with ``attribute_not_exists``. A lost race is retried
by the service, so seqs have no gaps or repeats whatever the concurrency.

The state history: the session item keeps its initial state (``state0``), each event its
``state_delta`` and the version it made, each PATCH an item of its own. Replayed in order they give
the state at any seq exactly (services/state_history.py), which forks need. Sessions written before
the history existed have no ``state0``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.definitions import SESSIONS_BY_USER
from contextiq.errors import VersionConflictError
from contextiq.ids import epoch, isoformat
from contextiq.models.checkpoints import StateChange
from contextiq.models.policies import GenerationPolicy, policy_json, stored_policy
from contextiq.models.sessions import Event, EventSource, ForkOrigin, Session
from contextiq.observability import logger
from contextiq.stores.dynamo.base import (
    PageTokens,
    batch_attempts,
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

SESSION_SK = "SESSION"
SEQ_WIDTH = 10


def session_pk(tenant: str, session_id: str) -> str:
    return f"T#{tenant}#S#{session_id}"


def event_sk(seq: int) -> str:
    return f"E#{seq:0{SEQ_WIDTH}d}"


def patch_sk(seq: int, version: int) -> str:
    return f"P#{seq:0{SEQ_WIDTH}d}#{version:0{SEQ_WIDTH}d}"


def session_item(tenant: str, s: Session, state0: dict[str, Any] | None) -> dict[str, Any]:
    """The session item; ``state0`` (the initial state of the history) is None for no history."""
    return to_item(
        {
            "pk": session_pk(tenant, s.id),
            "sk": SESSION_SK,
            "tenant": tenant,
            "id": s.id,
            "user_id": s.user_id,
            "app_name": s.app_name,
            "state": dumps(s.state),
            "state0": dumps(state0) if state0 is not None else None,
            "metadata": dumps(s.metadata),
            "forked_from": dumps(s.forked_from.model_dump()) if s.forked_from else None,
            "create_time": isoformat(s.create_time),
            "update_time": isoformat(s.update_time),
            "expire_at": epoch(s.expire_time) if s.expire_time else None,
            "version": s.version,
            "last_seq": s.event_count,
            "noindex": None if s.index_events else True,  # absent on sessions indexed as usual
            "generation_policy": policy_json(s.generation_policy),
            # absent on a new session; a fork may start past 0 (services/branches.py, generated_at_fork)
            "last_generated_seq": s.last_generated_seq or None,
            "gsi1pk": f"T#{tenant}#U#{s.user_id}",
            "gsi1sk": f"A#{s.app_name or ''}#{s.id}",
        }
    )


def event_item(tenant: str, session: Session, event: Event, version: int | None) -> dict[str, Any]:
    """An event item; ``version`` is the session version its append made (None: not known)."""
    return to_item(
        {
            "pk": session_pk(tenant, session.id),
            "sk": event_sk(event.seq),
            "id": event.id,
            "seq": event.seq,
            "author": event.author,
            "role": event.role,
            "content": dumps(event.content),
            "timestamp": isoformat(event.timestamp),
            "metadata": dumps(event.metadata),
            "state_delta": dumps(event.state_delta) if event.state_delta is not None else None,
            "version": version,
            "source_session_id": event.source.session_id if event.source else None,
            "source_event_id": event.source.event_id if event.source else None,
            "expire_at": epoch(session.expire_time) if session.expire_time else None,
            # what the stream indexer needs to place the event without reading the session
            "tenant": tenant,
            "session_id": session.id,
            "user_id": session.user_id,
            "app_name": session.app_name,
            "noindex": None if session.index_events else True,  # the session opted out of event indexing
        }
    )


def patch_item(tenant: str, session: Session, change: StateChange) -> dict[str, Any]:
    return to_item(
        {
            "pk": session_pk(tenant, session.id),
            "sk": patch_sk(change.seq, change.version),
            "seq": change.seq,
            "version": change.version,
            "set": dumps(change.set),
            "remove": dumps(list(change.remove)),
            "expire_at": epoch(session.expire_time) if session.expire_time else None,
        }
    )


def patch_from_item(item: dict[str, Any]) -> StateChange:
    return StateChange(
        seq=item["seq"],
        version=item["version"],
        set=loads_stored(item["set"]),
        remove=tuple(loads_stored(item["remove"])),
    )


class SessionStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    # -- sessions -------------------------------------------------------------------------------

    @staticmethod
    def _to_session(raw: dict[str, Any]) -> Session:
        return session_from_plain(from_item(raw))

    def create(self, tenant: str, session: Session) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item=session_item(tenant, session, state0=session.state),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, tenant: str, session_id: str, *, now: datetime) -> Session | None:
        """The live session, or None when it does not exist, is being deleted or has expired."""
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": session_pk(tenant, session_id), "sk": SESSION_SK}),
            ConsistentRead=True,
        )
        raw = resp.get("Item")
        if not raw or "deleting" in raw:
            return None
        session = self._to_session(raw)
        if session.expire_time and session.expire_time <= now:
            return None  # TTL deletion is lazy (up to days); expired is gone for readers
        return session

    def list_by_user(
        self, tenant: str, user_id: str, app_name: str | None, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[Session], str | None]:
        gsi1pk = f"T#{tenant}#U#{user_id}"
        prefix = f"A#{app_name}#" if app_name is not None else "A#"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": SESSIONS_BY_USER.name,
            "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            "FilterExpression": "attribute_not_exists(deleting) AND (attribute_not_exists(expire_at) "
            "OR expire_at > :now)",
            "ExpressionAttributeValues": values(pk=gsi1pk, prefix=prefix, now=epoch(now)),
            "Limit": limit,
        }
        binding = json.dumps(["sessions", tenant, user_id, app_name])
        start = self._tokens.decode(token, binding, {"gsi1pk": gsi1pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [self._to_session(i) for i in raw], self._tokens.encode(last, binding)

    def replace_state(
        self,
        tenant: str,
        session: Session,
        state: dict[str, Any],
        now: datetime,
        change: StateChange | None = None,
    ) -> Session:
        """Write ``state`` if the stored version is still ``session.version``; with ``change`` (the patch
        that made it, at version ``session.version + 1``), record it in the state history atomically."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": session_pk(tenant, session.id), "sk": SESSION_SK}),
            "UpdateExpression": "SET #state = :state, version = :next, update_time = :now",
            "ConditionExpression": "version = :expected AND attribute_not_exists(deleting)",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": values(
                state=dumps(state),
                next=session.version + 1,
                now=isoformat(now),
                expected=session.version,
            ),
        }
        try:
            if change is None:
                self._ddb.update_item(**update)
            else:
                assert change.version == session.version + 1
                assert change.seq == session.event_count
                put = {"TableName": self._table, "Item": patch_item(tenant, session, change)}
                self._ddb.transact_write_items(TransactItems=[{"Update": update}, {"Put": put}])
        except ClientError as err:
            if is_condition_failure(err) or is_transaction_conflict(err):
                raise VersionConflictError("the session changed since it was read") from err
            raise
        return session.model_copy(update={"state": state, "version": session.version + 1, "update_time": now})

    # -- events ---------------------------------------------------------------------------------

    def append(
        self, tenant: str, session: Session, event: Event, state: dict[str, Any] | None, now: datetime
    ) -> Session:
        """Atomically store ``event`` at seq ``session.event_count + 1`` (and the new state, if any)."""
        assert event.seq == session.event_count + 1
        update = "SET last_seq = :seq, version = :next, update_time = :now"
        vals: dict[str, Any] = {
            "seq": event.seq,
            "next": session.version + 1,
            "now": isoformat(now),
            "expected": session.version,
        }
        if state is not None:
            update += ", #state = :state"
            vals["state"] = dumps(state)
        session_update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": session_pk(tenant, session.id), "sk": SESSION_SK}),
            "UpdateExpression": update,
            "ConditionExpression": "version = :expected AND attribute_not_exists(deleting)",
            "ExpressionAttributeValues": values(**vals),
        }
        if state is not None:
            session_update["ExpressionAttributeNames"] = {"#state": "state"}
        item = event_item(tenant, session, event, session.version + 1)
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {"Update": session_update},
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as err:
            if is_condition_failure(err) or is_transaction_conflict(err):
                raise VersionConflictError("another write to the session won the race") from err
            raise
        new_state = state if state is not None else session.state
        return session.model_copy(
            update={
                "event_count": event.seq,
                "version": session.version + 1,
                "update_time": now,
                "state": new_state,
            }
        )

    @staticmethod
    def _to_event(session_id: str, raw: dict[str, Any]) -> Event:
        return event_from_item(session_id, from_item(raw))

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return batch_get_items(self._ddb, self._table, keys)

    def get_events(self, tenant: str, keys: list[tuple[str, int]]) -> dict[tuple[str, int], Event]:
        """Events by (session_id, seq); missing ones are left out."""
        unique = list(dict.fromkeys(keys))
        raw = self._batch_get([to_item({"pk": session_pk(tenant, sid), "sk": event_sk(seq)}) for sid, seq in unique])
        out: dict[tuple[str, int], Event] = {}
        for item in raw:
            sid = str(item["pk"]["S"]).rsplit("#S#", 1)[-1]
            event = self._to_event(sid, item)
            out[(sid, event.seq)] = event
        return out

    def get_sessions(self, tenant: str, session_ids: list[str], *, now: datetime) -> dict[str, Session]:
        """The live sessions among ``session_ids`` (deleting or expired ones are left out)."""
        raw = self._batch_get(
            [to_item({"pk": session_pk(tenant, sid), "sk": SESSION_SK}) for sid in dict.fromkeys(session_ids)]
        )
        out: dict[str, Session] = {}
        for item in raw:
            if "deleting" in item:
                continue
            session = self._to_session(item)
            if session.expire_time is None or session.expire_time > now:
                out[session.id] = session
        return out

    def scan_events(self, segment: int = 0, total_segments: int = 1) -> Iterator[dict[str, Any]]:
        """Every event item of every tenant, as plain values (for scripts/reindex.py)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(sk, :e)",
            "ExpressionAttributeValues": values(e="E#"),
            "Segment": segment,
            "TotalSegments": total_segments,
        }
        yield from self._scan_items(kwargs)

    def scan_app_events(self, tenant: str, app_name: str) -> Iterator[dict[str, Any]]:
        """Every event item of one tenant's app, as plain values: a filtered Scan of the whole table (the
        table has no index by app), run once when a tenant opts the app out of event indexing."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(sk, :e) AND tenant = :t AND app_name = :a",
            "ExpressionAttributeValues": values(e="E#", t=tenant, a=app_name),
        }
        yield from self._scan_items(kwargs)

    def _scan_items(self, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item a Scan with these arguments returns, page after page, as plain values."""
        while True:
            resp = self._ddb.scan(**kwargs)
            for raw in resp.get("Items", []):
                yield from_item(raw)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs = {**kwargs, "ExclusiveStartKey": resp["LastEvaluatedKey"]}

    def list_events(
        self, tenant: str, session_id: str, after_seq: int, limit: int, token: str | None
    ) -> tuple[list[Event], str | None]:
        pk = session_pk(tenant, session_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": values(pk=pk, lo=event_sk(after_seq + 1), hi=event_sk(10**SEQ_WIDTH - 1)),
            "Limit": limit,
            "ConsistentRead": True,
        }
        binding = json.dumps(["events", tenant, session_id, after_seq])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._ddb.query(**kwargs)
        events = [self._to_event(session_id, i) for i in resp.get("Items", [])]
        return events, self._tokens.encode(resp.get("LastEvaluatedKey"), binding)

    # -- deletion -------------------------------------------------------------------------------

    def delete(self, tenant: str, session_id: str) -> bool:
        """Mark the session deleting (readers see 404 at once), remove its events, then the session.

        Returns False when there was nothing to delete. Safe to call again after a crash midway.
        """
        pk = session_pk(tenant, session_id)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item({"pk": pk, "sk": SESSION_SK}),
                UpdateExpression="SET deleting = :t REMOVE gsi1pk, gsi1sk",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values(t=True),
            )
        except ClientError as err:
            if is_condition_failure(err):
                return False
            raise
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk < :session",  # events, patches, checkpoints
            "ExpressionAttributeValues": values(pk=pk, session=SESSION_SK),
            "ProjectionExpression": "pk, sk",
        }
        while True:
            resp = self._ddb.query(**kwargs)
            keys = resp.get("Items", [])
            for i in range(0, len(keys), 25):
                self._batch_delete(keys[i : i + 25])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        self._ddb.delete_item(TableName=self._table, Key=to_item({"pk": pk, "sk": SESSION_SK}))
        return True

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        requests = {self._table: [{"DeleteRequest": {"Key": k}} for k in keys]}
        for _ in batch_attempts():
            resp = self._ddb.batch_write_item(RequestItems=requests)
            requests = resp.get("UnprocessedItems") or {}
            if not requests:
                return
        raise RuntimeError("DynamoDB kept returning unprocessed deletes; retry the DELETE")


def session_from_plain(item: dict[str, Any]) -> Session:
    """A SESSION item (plain values: read back, or a stream image) -> Session."""
    expire_at = item.get("expire_at")
    return Session(
        id=item["id"],
        user_id=item["user_id"],
        app_name=item.get("app_name"),
        state=loads_stored(item["state"]),
        metadata=loads_stored(item["metadata"]),
        create_time=item["create_time"],
        update_time=item["update_time"],
        expire_time=datetime.fromtimestamp(expire_at, UTC) if expire_at else None,
        version=item["version"],
        event_count=item.get("last_seq", 0),
        generation_policy=readable_policy(item.get("generation_policy"), item["id"]),
        last_generated_seq=item.get("last_generated_seq", 0),
        last_job_id=item.get("last_job_id"),
        index_events=not item.get("noindex"),
        forked_from=ForkOrigin.model_validate_json(item["forked_from"]) if item.get("forked_from") else None,
    )


def readable_policy(raw: str | None, session_id: str) -> GenerationPolicy | None:
    """A session's stored policy; one that no longer validates (a limit changed) reads as none, logged."""
    try:
        return stored_policy(raw)
    except ValueError:
        logger.warning("stored generation policy no longer validates; ignored", extra={"session_id": session_id})
        return None


def event_from_item(session_id: str, item: dict[str, Any]) -> Event:
    """An event item (plain values) -> Event."""
    return Event(
        id=item["id"],
        session_id=session_id,
        seq=item["seq"],
        author=item["author"],
        role=item.get("role"),
        content=loads_stored(item["content"]),
        timestamp=item["timestamp"],
        metadata=loads_stored(item["metadata"]),
        state_delta=loads_stored(item["state_delta"]) if item.get("state_delta") is not None else None,
        source=EventSource(session_id=item["source_session_id"], event_id=item["source_event_id"])
        if item.get("source_event_id")
        else None,
    )
