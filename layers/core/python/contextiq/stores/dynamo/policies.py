"""Generation policies in the sessions table, and the claim that makes a policy job exactly once.

Layout (beside the sessions and events of ``stores/dynamo/sessions.py``):

    pk = T#<tenant>#GP#<app_name>   sk = POLICY     an app's policy (JSON), version, times
    gsi1pk = T#<tenant>#GP          gsi1sk = <app_name>     (the by_user index: a tenant's policies)

A session's own policy is the ``generation_policy`` attribute of its SESSION item; ``last_generated_seq``
and ``last_job_id`` there say how far policies have generated.

The claim is one transaction: advance the session's ``last_generated_seq`` from the value the claimer
read to the window's end (conditional), and put the job (``attribute_not_exists``) with its entry in the
session's job list. Whoever loses the condition made no job, so two claimers of one window, a redelivered
stream record, or a stream record racing the idle check can never make two jobs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contextiq.definitions import SESSIONS_BY_USER
from contextiq.errors import VersionConflictError
from contextiq.ids import isoformat
from contextiq.models.jobs import Job, JobStatus
from contextiq.models.policies import AppGenerationPolicy, GenerationPolicy, policy_json
from contextiq.models.sessions import Session
from contextiq.retry import Backoff, attempts
from contextiq.stores.dynamo.base import (
    PageTokens,
    from_item,
    is_condition_failure,
    is_transaction_conflict,
    query_full_page,
    to_item,
    values,
)
from contextiq.stores.dynamo.jobs import JOB_SK, SerializedSpec, job_items, job_pk
from contextiq.stores.dynamo.sessions import SESSION_SK, session_pk

POLICY_SK = "POLICY"
# A claim that meets an append's transaction on the session item (TransactionConflict) is tried again.
CLAIM_ATTEMPTS = 6
CLAIM_BACKOFF = Backoff(base=0.02, cap=0.5)


def policy_pk(tenant: str, app_name: str) -> str:
    return f"T#{tenant}#GP#{app_name}"


def _to_app_policy(raw: dict[str, Any]) -> AppGenerationPolicy:
    item = from_item(raw)
    return AppGenerationPolicy.model_validate(
        {
            **json.loads(item["policy"]),
            "app_name": item["app_name"],
            "create_time": item["create_time"],
            "update_time": item["update_time"],
            "version": item["version"],
        }
    )


class PolicyStore:
    def __init__(
        self,
        client: Any,
        sessions_table: str,
        jobs_table: str,
        tokens: PageTokens,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sleep = sleep
        self._ddb = client
        self._table = sessions_table
        self._jobs_table = jobs_table
        self._tokens = tokens

    # -- app policies ---------------------------------------------------------------------------

    def put(
        self, tenant: str, app_name: str, policy: GenerationPolicy, now: datetime, expected_version: int | None
    ) -> AppGenerationPolicy:
        """Create or replace; with ``expected_version`` only over that version (VersionConflictError)."""
        condition = "version = :expected" if expected_version is not None else None
        vals: dict[str, Any] = {
            "policy": policy_json(policy),
            "tenant": tenant,
            "app": app_name,
            "now": isoformat(now),
            "zero": 0,
            "one": 1,
            "gsi1pk": f"T#{tenant}#GP",
        }
        if expected_version is not None:
            vals["expected"] = expected_version
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": policy_pk(tenant, app_name), "sk": POLICY_SK}),
            "UpdateExpression": "SET policy = :policy, tenant = :tenant, app_name = :app, update_time = :now, "
            "create_time = if_not_exists(create_time, :now), version = if_not_exists(version, :zero) + :one, "
            "gsi1pk = :gsi1pk, gsi1sk = :app",
            "ExpressionAttributeValues": values(**vals),
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            resp = self._ddb.update_item(**kwargs)
        except ClientError as err:
            if is_condition_failure(err):
                raise VersionConflictError("the policy changed since it was read") from err
            raise
        return _to_app_policy(resp["Attributes"])

    def get(self, tenant: str, app_name: str) -> AppGenerationPolicy | None:
        resp = self._ddb.get_item(
            TableName=self._table,
            Key=to_item({"pk": policy_pk(tenant, app_name), "sk": POLICY_SK}),
            ConsistentRead=True,
        )
        return _to_app_policy(resp["Item"]) if resp.get("Item") else None

    def delete(self, tenant: str, app_name: str) -> bool:
        resp = self._ddb.delete_item(
            TableName=self._table,
            Key=to_item({"pk": policy_pk(tenant, app_name), "sk": POLICY_SK}),
            ReturnValues="ALL_OLD",
        )
        return bool(resp.get("Attributes"))

    def list(self, tenant: str, limit: int, token: str | None) -> tuple[list[AppGenerationPolicy], str | None]:
        gsi1pk = f"T#{tenant}#GP"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": SESSIONS_BY_USER.name,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": values(pk=gsi1pk),
            "Limit": limit,
        }
        binding = json.dumps(["generation-policies", tenant])
        start = self._tokens.decode(token, binding, {"gsi1pk": gsi1pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self._ddb, kwargs, limit)
        return [_to_app_policy(i) for i in raw], self._tokens.encode(last, binding)

    # -- sessions -------------------------------------------------------------------------------

    def set_session_policy(
        self, tenant: str, session: Session, policy: GenerationPolicy | None, now: datetime
    ) -> Session:
        """Write (or with None remove) the session's own policy if its version is still ``session.version``."""
        vals: dict[str, Any] = {"next": session.version + 1, "now": isoformat(now), "expected": session.version}
        if policy is None:
            update = "SET version = :next, update_time = :now REMOVE generation_policy"
        else:
            update = "SET generation_policy = :policy, version = :next, update_time = :now"
            vals["policy"] = policy_json(policy)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item({"pk": session_pk(tenant, session.id), "sk": SESSION_SK}),
                UpdateExpression=update,
                ConditionExpression="version = :expected AND attribute_not_exists(deleting)",
                ExpressionAttributeValues=values(**vals),
            )
        except ClientError as err:
            if is_condition_failure(err):
                raise VersionConflictError("the session changed since it was read") from err
            raise
        return session.model_copy(
            update={"generation_policy": policy, "version": session.version + 1, "update_time": now}
        )

    def claim(self, tenant: str, session_id: str, from_seq: int, to_seq: int, job: Job, spec: SerializedSpec) -> bool:
        """Advance ``last_generated_seq`` from ``from_seq`` to ``to_seq`` and create ``job``, atomically.

        False when the session moved on (another claimer won, it is being deleted, or it lacks the events).
        """
        if from_seq == 0:
            claimed = "(attribute_not_exists(last_generated_seq) OR last_generated_seq = :from)"
        else:
            claimed = "last_generated_seq = :from"
        session_update = {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": session_pk(tenant, session_id), "sk": SESSION_SK}),
                "UpdateExpression": "SET last_generated_seq = :to, last_job_id = :job",
                "ConditionExpression": f"attribute_exists(pk) AND attribute_not_exists(deleting) "
                f"AND last_seq >= :to AND {claimed}",
                "ExpressionAttributeValues": values(**{"from": from_seq, "to": to_seq, "job": job.id}),
            }
        }
        items = [session_update, *job_items(self._jobs_table, tenant, job, spec)]
        for _ in attempts(CLAIM_ATTEMPTS, CLAIM_BACKOFF, self._sleep):
            try:
                self._ddb.transact_write_items(TransactItems=items)
            except ClientError as err:
                if is_condition_failure(err):
                    return False
                if is_transaction_conflict(err):  # an append's transaction on the session item: try again
                    continue
                raise
            return True
        raise RuntimeError(f"the claim of session {session_id} kept meeting concurrent transactions; retry")

    # -- handing a claimed job to the extraction queue ------------------------------------------

    def unqueued(self, tenant: str, job_id: str) -> bool:
        """True for a PENDING job not yet marked queued (its claimer stopped before sending it)."""
        resp = self._ddb.get_item(
            TableName=self._jobs_table,
            Key=to_item({"pk": job_pk(tenant, job_id), "sk": JOB_SK}),
            ConsistentRead=True,
            ProjectionExpression="#s, queued",
            ExpressionAttributeNames={"#s": "status"},
        )
        item = from_item(resp.get("Item") or {})
        return item.get("status") == JobStatus.PENDING.value and not item.get("queued")

    def mark_queued(self, tenant: str, job_id: str) -> None:
        self._ddb.update_item(
            TableName=self._jobs_table,
            Key=to_item({"pk": job_pk(tenant, job_id), "sk": JOB_SK}),
            UpdateExpression="SET queued = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=values(t=True),
        )
