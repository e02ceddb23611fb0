"""Stream records of the memories, procedures and jobs tables -> ``ChangeEvent``s (notifications).

Works on the record as Lambda delivers it (``dynamodb.NewImage``/``OldImage`` in DynamoDB JSON, binary as
base64 text), with both images (the tables stream ``NEW_AND_OLD_IMAGES``). Rules, per item kind:

- memory / procedure: INSERT of a live item is ``created``; MODIFY that changes ``version`` is ``updated``,
  or ``deleted`` when it turns the item into a tombstone; a MODIFY that keeps the version (a procedure's
  outcome counters) is no change to announce; REMOVE of a live item (its TTL expired) is ``deleted`` with
  ``data.expired`` and version + 1; REMOVE of a tombstone (already announced) is nothing.
- job: the MODIFY (or INSERT) that makes its status SUCCEEDED or FAILED is ``job.succeeded``/``job.failed``.
Revisions, trajectories, events and sessions are not announced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from contextiq.models.notifications import Action, ChangeEvent, Resource
from contextiq.stores.dynamo.base import from_item
from contextiq.stores.dynamo.jobs import JOB_SK, JobStore
from contextiq.stores.dynamo.memories import MEMORY_SK
from contextiq.stores.dynamo.procedures import PROCEDURE_SK

_KINDS: dict[str, Resource] = {MEMORY_SK: "memory", PROCEDURE_SK: "procedure"}
_SKIP = frozenset({"vector"})  # large and never announced
_FINISHED = {"SUCCEEDED": "succeeded", "FAILED": "failed"}


def _plain(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    return from_item({k: v for k, v in image.items() if k not in _SKIP})


def _record_time(record: dict[str, Any]) -> datetime:
    approx = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if isinstance(approx, int | float):
        return datetime.fromtimestamp(approx, UTC)
    return datetime.now(UTC)


def change_events(record: dict[str, Any]) -> list[ChangeEvent]:
    """The change events one stream record stands for (usually none or one)."""
    data = record.get("dynamodb") or {}
    name = record.get("eventName")
    new, old = _plain(data.get("NewImage")), _plain(data.get("OldImage"))
    sk = str((new or old or {}).get("sk", ""))
    if sk in _KINDS:
        event = _versioned(_KINDS[sk], str(name), new, old, record)
        return [event] if event else []
    if sk == JOB_SK and name != "REMOVE" and data.get("NewImage"):
        event = _job(data["NewImage"], old)
        return [event] if event else []
    return []


def _versioned(
    resource: Resource, name: str, new: dict[str, Any] | None, old: dict[str, Any] | None, record: dict[str, Any]
) -> ChangeEvent | None:
    if name == "REMOVE":
        if old is None or old.get("deleted_time"):
            return None  # a tombstone's TTL: its deletion was announced when it was made
        return _event(resource, "deleted", old, old["version"] + 1, _record_time(record), {"expired": True})
    if new is None:
        return None
    if name == "INSERT" or old is None:
        return None if new.get("deleted_time") else _event(resource, "created", new, new["version"])
    if old.get("version") == new.get("version"):
        return None
    if new.get("deleted_time"):
        if old.get("deleted_time"):
            return None
        return _event(resource, "deleted", new, new["version"], _parse_time(new["deleted_time"]), {"expired": False})
    return _event(resource, "updated", new, new["version"])


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _event(
    resource: Resource,
    action: Action,
    item: dict[str, Any],
    version: int,
    time: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> ChangeEvent:
    if data is None:
        data = _content(resource, item)
    return ChangeEvent.build(
        resource=resource,
        action=action,
        tenant=item["tenant"],
        scope=json.loads(item["scope"]),
        resource_id=item["id"],
        version=int(version),
        time=time or _parse_time(item["update_time"]),
        data=data,
    )


def _content(resource: Resource, item: dict[str, Any]) -> dict[str, Any]:
    """What a created/updated event says about the new content (small: the full item is one GET away)."""
    if resource == "memory":
        return {"fact": item.get("fact"), "topics": sorted(item.get("topics") or [])}
    return {"name": item.get("name"), "kind": item.get("kind"), "status": item.get("status")}


def _job(new_image: dict[str, Any], old: dict[str, Any] | None) -> ChangeEvent | None:
    stored = JobStore.parse_item(new_image)
    action = _FINISHED.get(stored.job.status.value)
    if action is None or (old is not None and old.get("status") == stored.job.status.value):
        return None  # not finished, or it already was before this write
    job = stored.job
    data: dict[str, Any] = {"kind": job.kind, "status": job.status.value}
    if job.result is not None:
        data["result"] = job.result.model_dump(mode="json")
    if job.error:
        data["error"] = job.error
    return ChangeEvent.build(
        resource="job",
        action=action,  # type: ignore[arg-type]
        tenant=stored.tenant,
        scope=job.scope,
        resource_id=job.id,
        version=None,
        time=job.update_time,
        data=data,
    )
