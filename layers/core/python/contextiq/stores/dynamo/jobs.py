"""Generation jobs in DynamoDB: ``pk = T#<tenant>#J#<job_id>``, ``sk = JOB``.

Progress is counted per consolidation part with a set of finished parts, so a redelivered part is
never counted twice; the job succeeds when every part has been counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from contextiq import limits
from contextiq.ids import epoch, isoformat
from contextiq.models.jobs import Job, JobResult, JobStatus
from contextiq.models.pipeline import JobSpec, parse_message
from contextiq.stores.dynamo.base import PageTokens, batch_get_items, from_item, is_condition_failure, to_item, values

JOB_SK = "JOB"


class SerializedSpec(Protocol):
    """What a job stores about its request: memory generation's JobSpec, or procedure learning's."""

    def to_json(self) -> str: ...


def job_pk(tenant: str, job_id: str) -> str:
    return f"T#{tenant}#J#{job_id}"


def session_jobs_pk(tenant: str, session_id: str) -> str:
    """The key space listing a session's jobs: ``pk = T#<tenant>#SJ#<session_id>``, ``sk = <job_id>``."""
    return f"T#{tenant}#SJ#{session_id}"


def job_items(table: str, tenant: str, job: Job, spec: SerializedSpec) -> list[dict[str, Any]]:
    """TransactWriteItems entries that create ``job`` once (and list it under its session, if any)."""
    expire_at = epoch(job.create_time) + limits.JOB_RETENTION_DAYS * 86400
    item = {
        "pk": job_pk(tenant, job.id),
        "sk": JOB_SK,
        "tenant": tenant,
        "id": job.id,
        "status": job.status.value,
        "scope": json.dumps(job.scope),
        "spec": spec.to_json(),
        "create_time": isoformat(job.create_time),
        "update_time": isoformat(job.update_time),
        "expire_at": expire_at,
        "parts_done": 0,
        "error": job.error,
    }
    once = "attribute_not_exists(pk)"
    items = [{"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": once}}]
    if job.session_id is not None:
        entry = {"pk": session_jobs_pk(tenant, job.session_id), "sk": job.id, "expire_at": expire_at}
        items.append({"Put": {"TableName": table, "Item": to_item(entry), "ConditionExpression": once}})
    return items


@dataclass(frozen=True)
class StoredJob:
    tenant: str
    job: Job
    spec_json: str
    parts_total: int | None
    parts_done: int

    @property
    def spec(self) -> JobSpec:
        """Parsed when a worker reads it, so a malformed spec fails that job, never a GET of it."""
        return parse_message(JobSpec, self.spec_json)

    @property
    def finished(self) -> bool:
        return self.job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class JobStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens | None = None) -> None:
        self._ddb = client
        self._table = table_name
        self._tokens = tokens

    def _key(self, tenant: str, job_id: str) -> dict[str, Any]:
        return to_item({"pk": job_pk(tenant, job_id), "sk": JOB_SK})

    def create(self, tenant: str, job: Job, spec: SerializedSpec) -> None:
        """Put the job (and, for a session's job, its entry in the session's job list) once."""
        items = job_items(self._table, tenant, job, spec)
        if len(items) == 1:
            self._ddb.put_item(**items[0]["Put"])
        else:
            self._ddb.transact_write_items(TransactItems=items)

    def list_by_session(
        self, tenant: str, session_id: str, limit: int, token: str | None
    ) -> tuple[list[Job], str | None]:
        """A session's jobs, oldest first (also after the session is deleted, until the jobs expire)."""
        if self._tokens is None:
            raise RuntimeError("JobStore needs page tokens to list")
        pk = session_jobs_pk(tenant, session_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": values(pk=pk),
            "Limit": limit,
        }
        binding = json.dumps(["session-jobs", tenant, session_id])
        start = self._tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._ddb.query(**kwargs)
        ids = [str(i["sk"]["S"]) for i in resp.get("Items", [])]
        found = {
            stored.job.id: stored.job
            for stored in map(
                self.parse_item, batch_get_items(self._ddb, self._table, [self._key(tenant, i) for i in ids])
            )
        }
        return [found[i] for i in ids if i in found], self._tokens.encode(resp.get("LastEvaluatedKey"), binding)

    @staticmethod
    def parse_item(raw: dict[str, Any]) -> StoredJob:
        """A JOB item in DynamoDB JSON (GetItem, Query or a stream image) -> StoredJob."""
        item = from_item(raw)
        status = JobStatus(item["status"])
        has_result = "added" in item or status == JobStatus.SUCCEEDED
        result = (
            JobResult(
                added=item.get("added", 0),
                updated=item.get("updated", 0),
                deleted=item.get("deleted", 0),
                unchanged=item.get("unchanged", 0),
                memory_ids=sorted(item.get("memory_ids") or []),
                procedure_ids=sorted(item.get("procedure_ids") or []),
            )
            if has_result
            else None
        )
        spec = json.loads(item["spec"])
        job = Job(
            id=item["id"],
            kind=spec.get("kind", "memories"),
            status=status,
            scope=json.loads(item["scope"]),
            create_time=item["create_time"],
            update_time=item["update_time"],
            result=result,
            error=item.get("error"),
            session_id=spec.get("session_id"),
            trigger=spec.get("trigger"),
        )
        return StoredJob(item["tenant"], job, item["spec"], item.get("parts_total"), item.get("parts_done", 0))

    def get(self, tenant: str, job_id: str) -> StoredJob | None:
        resp = self._ddb.get_item(TableName=self._table, Key=self._key(tenant, job_id), ConsistentRead=True)
        return self.parse_item(resp["Item"]) if resp.get("Item") else None

    def _update(self, tenant: str, job_id: str, **kwargs: Any) -> StoredJob | None:
        """UpdateItem; None when its condition failed."""
        try:
            resp = self._ddb.update_item(
                TableName=self._table, Key=self._key(tenant, job_id), ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as err:
            if is_condition_failure(err):
                return None
            raise
        return self.parse_item(resp["Attributes"])

    def mark_running(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None:
        return self._update(
            tenant,
            job_id,
            UpdateExpression="SET #s = :running, update_time = :now",
            ConditionExpression="#s IN (:pending, :running)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values(
                running=JobStatus.RUNNING.value, pending=JobStatus.PENDING.value, now=isoformat(now)
            ),
        )

    def set_parts(self, tenant: str, job_id: str, parts_total: int, candidates: int, now: datetime) -> StoredJob | None:
        """Record how many consolidation parts the job has (before they are sent, so none can finish early)."""
        return self._update(
            tenant,
            job_id,
            UpdateExpression="SET parts_total = :n, candidates = :c, update_time = :now",
            ConditionExpression="#s IN (:pending, :running) "
            "AND (attribute_not_exists(parts_total) OR parts_total = :n)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values(
                n=parts_total,
                c=candidates,
                now=isoformat(now),
                pending=JobStatus.PENDING.value,
                running=JobStatus.RUNNING.value,
            ),
        )

    def record_part(self, tenant: str, job_id: str, part: int, result: JobResult, now: datetime) -> StoredJob | None:
        """Count one finished part, once. None when it was already counted or the job has ended."""
        update = (
            "ADD added :a, updated :u, deleted :d, unchanged :n, parts_done :one, done_parts :part"
            + (", memory_ids :ids" if result.memory_ids else "")
            + (", procedure_ids :pids" if result.procedure_ids else "")
            + " SET update_time = :now"
        )
        vals: dict[str, Any] = {
            "a": result.added,
            "u": result.updated,
            "d": result.deleted,
            "n": result.unchanged,
            "one": 1,
            "part": {f"p{part}"},
            "p": f"p{part}",
            "now": isoformat(now),
            "pending": JobStatus.PENDING.value,
            "running": JobStatus.RUNNING.value,
        }
        if result.memory_ids:
            vals["ids"] = set(result.memory_ids)
        if result.procedure_ids:
            vals["pids"] = set(result.procedure_ids)
        return self._update(
            tenant,
            job_id,
            UpdateExpression=update,
            ConditionExpression="#s IN (:pending, :running) AND NOT contains(done_parts, :p)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values(**vals),
        )

    def succeed_if_complete(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None:
        return self._update(
            tenant,
            job_id,
            UpdateExpression="SET #s = :ok, update_time = :now",
            ConditionExpression="#s IN (:pending, :running) AND parts_done >= parts_total",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values(
                ok=JobStatus.SUCCEEDED.value,
                now=isoformat(now),
                pending=JobStatus.PENDING.value,
                running=JobStatus.RUNNING.value,
            ),
        )

    def fail(self, tenant: str, job_id: str, reason: str, now: datetime) -> StoredJob | None:
        return self._update(
            tenant,
            job_id,
            UpdateExpression="SET #s = :failed, #e = :reason, update_time = :now",
            ConditionExpression="#s IN (:pending, :running)",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues=values(
                failed=JobStatus.FAILED.value,
                reason=reason[:2000],
                now=isoformat(now),
                pending=JobStatus.PENDING.value,
                running=JobStatus.RUNNING.value,
            ),
        )

    def iter_stale(self, updated_before: datetime) -> Iterator[StoredJob]:
        """Every PENDING or RUNNING job not updated since ``updated_before`` (all tenants).

        A filtered Scan: the sweeper runs every few minutes over a table whose items expire after
        ``JOB_RETENTION_DAYS``, so it reads at most that many days of jobs (docs/operations.md).
        """
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "#s IN (:pending, :running) AND update_time < :before AND sk = :sk",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values(
                pending=JobStatus.PENDING.value,
                running=JobStatus.RUNNING.value,
                before=isoformat(updated_before),
                sk=JOB_SK,
            ),
        }
        while True:
            page = self._ddb.scan(**kwargs)
            for raw in page.get("Items", []):
                yield self.parse_item(raw)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
