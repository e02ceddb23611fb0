"""In-memory fakes of the repository protocols, for fast unit tests of the services and workers.

Each fake keeps the conditions its DynamoDB store enforces (versions, "not already there", "job still
open", "part not yet counted"), because those conditions are what the services' retry and idempotency
logic reacts to. ``before_write`` hooks let a test play a rival writer that wins a race at the exact
moment the service writes. Use them with ``FakeClock`` and ``Sleeps`` (the services' ``clock``/``sleep``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from contextiq.errors import VersionConflictError
from contextiq.models.jobs import Job, JobResult, JobStatus
from contextiq.models.memories import Memory, Revision, scope_key
from contextiq.models.pipeline import JobSpec
from contextiq.models.sessions import Event, Session
from contextiq.stores.dynamo.jobs import StoredJob
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.vector.base import Condition, IndexedMemory, IndexInfo, Scalar, SearchHit, SearchQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """``clock=`` for the services: a fixed time that moves only when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Sleeps(list[float]):
    """``sleep=`` for the services: records each pause instead of taking it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


Hook = Callable[[], None]


def _page(items: list[Any], limit: int, token: str | None) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


# -- sessions -------------------------------------------------------------------------------------


class FakeSessionRepository:
    """``services.sessions.SessionRepository`` in memory."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, str], Session] = {}
        self.events: dict[tuple[str, str], list[Event]] = {}
        self.before_write: Hook | None = None

    def _check(self, tenant: str, session: Session) -> Session:
        if self.before_write:
            self.before_write()
        current = self.sessions.get((tenant, session.id))
        if current is None or current.version != session.version:
            raise VersionConflictError("the session changed since it was read")
        return current

    def create(self, tenant: str, session: Session) -> None:
        assert (tenant, session.id) not in self.sessions
        self.sessions[(tenant, session.id)] = session
        self.events[(tenant, session.id)] = []

    def get(self, tenant: str, session_id: str, *, now: datetime) -> Session | None:
        session = self.sessions.get((tenant, session_id))
        if session is None or (session.expire_time and session.expire_time <= now):
            return None
        return session

    def list_by_user(
        self, tenant: str, user_id: str, app_name: str | None, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[Session], str | None]:
        found = [
            s
            for (t, _), s in sorted(self.sessions.items())
            if t == tenant and s.user_id == user_id and (app_name is None or s.app_name == app_name)
            and not (s.expire_time and s.expire_time <= now)
        ]  # fmt: skip
        return _page(found, limit, token)

    def replace_state(
        self, tenant: str, session: Session, state: dict[str, Any], now: datetime, change: object = None
    ) -> Session:
        self._check(tenant, session)
        updated = session.model_copy(update={"state": state, "version": session.version + 1, "update_time": now})
        self.sessions[(tenant, session.id)] = updated
        return updated

    def append(
        self, tenant: str, session: Session, event: Event, state: dict[str, Any] | None, now: datetime
    ) -> Session:
        assert event.seq == session.event_count + 1
        self._check(tenant, session)
        updated = session.model_copy(
            update={
                "event_count": event.seq,
                "version": session.version + 1,
                "update_time": now,
                "state": state if state is not None else session.state,
            }
        )
        self.sessions[(tenant, session.id)] = updated
        self.events[(tenant, session.id)].append(event)
        return updated

    def list_events(
        self, tenant: str, session_id: str, after_seq: int, limit: int, token: str | None
    ) -> tuple[list[Event], str | None]:
        events = [e for e in self.events.get((tenant, session_id), []) if e.seq > after_seq]
        return _page(events, limit, token)

    def delete(self, tenant: str, session_id: str) -> bool:
        self.events.pop((tenant, session_id), None)
        return self.sessions.pop((tenant, session_id), None) is not None


# -- memories -------------------------------------------------------------------------------------


class FakeMemoryRepository:
    """``services.memories.MemoryRepository`` in memory (tombstones included)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], StoredMemory] = {}
        self.revision_log: dict[tuple[str, str], list[Revision]] = {}
        self.before_write: Hook | None = None

    def _expect(self, tenant: str, memory_id: str, expected_version: int | None) -> None:
        if self.before_write:
            self.before_write()
        current = self.items.get((tenant, memory_id))
        if expected_version is None:
            if current is not None:
                raise VersionConflictError(f"memory {memory_id} already exists")
        elif current is None or current.deleted or current.memory.version != expected_version:
            raise VersionConflictError("the memory changed since it was read")

    def put(
        self,
        tenant: str,
        memory: Memory,
        vector: Sequence[float],
        model: str,
        revision: Revision,
        expected_version: int | None,
    ) -> None:
        self._expect(tenant, memory.id, expected_version)
        self.items[(tenant, memory.id)] = StoredMemory(tenant, memory, list(vector), model)
        self.revision_log.setdefault((tenant, memory.id), []).append(revision)

    def tombstone(self, tenant: str, memory_id: str, expected_version: int, revision: Revision, now: datetime) -> None:
        self._expect(tenant, memory_id, expected_version)
        old = self.items[(tenant, memory_id)].memory
        gone = old.model_copy(update={"version": expected_version + 1, "update_time": now})
        self.items[(tenant, memory_id)] = StoredMemory(tenant, gone, None, None, deleted=True)
        self.revision_log[(tenant, memory_id)].append(revision)

    def get(self, tenant: str, memory_id: str) -> StoredMemory | None:
        return self.items.get((tenant, memory_id))

    def get_many(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, StoredMemory]:
        return {i: self.items[(tenant, i)] for i in memory_ids if (tenant, i) in self.items}

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
        live = [
            s
            for (t, _), s in sorted(self.items.items())
            if t == tenant and not s.deleted and s.memory.scope == scope
            and (topic is None or topic in s.memory.topics)
            and not (s.memory.expire_time and s.memory.expire_time <= now)
        ]  # fmt: skip
        return _page(live, limit, token)

    def revisions(
        self, tenant: str, memory_id: str, limit: int, token: str | None
    ) -> tuple[list[Revision], str | None]:
        return _page(self.revision_log.get((tenant, memory_id), []), limit, token)


def _matches(values: tuple[Scalar, ...], condition: Condition) -> bool:
    if condition.is_range:
        return any(
            isinstance(v, int | float)
            and (condition.gte is None or v >= condition.gte)
            and (condition.lte is None or v <= condition.lte)
            for v in values
        )
    return bool(set(values) & set(condition.values))


class FakeVectorIndex:
    """``stores.vector.base.VectorIndex`` by brute-force cosine, scored (1 + cos) / 2 like the real ones,
    with their filters (kind, expiry, topics, after/before, attribute conditions); semantic queries only."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], IndexedMemory] = {}
        self.versions: dict[tuple[str, str], int] = {}

    def ensure(self, info: IndexInfo) -> None:
        pass

    def upsert(self, docs: Sequence[IndexedMemory]) -> None:
        for doc in docs:
            key = (doc.tenant, doc.memory_id)
            if self.versions.get(key, 0) < doc.version:
                self.docs[key], self.versions[key] = doc, doc.version

    def delete(self, tenant: str, memory_id: str, version: int) -> None:
        key = (tenant, memory_id)
        if self.versions.get(key, 0) < version:
            self.docs.pop(key, None)
            self.versions[key] = version

    def search(self, query: SearchQuery) -> list[SearchHit]:
        assert query.vector is not None, "the fake index answers semantic queries only"
        hits = []
        for (tenant, memory_id), doc in self.docs.items():
            if tenant != query.tenant or doc.scope_key != query.scope_key or doc.kind != query.kind:
                continue
            if doc.expire_at is not None and query.now and doc.expire_at <= query.now:
                continue
            if not all(_matches(doc.attrs.get(c.key, ()), c) for c in query.filters):
                continue
            if query.topics and not set(query.topics) & set(doc.topics):
                continue
            when = doc.event_time
            if (query.after is not None and (when is None or when < query.after)) or (
                query.before is not None and (when is None or when >= query.before)
            ):
                continue
            dot = sum(a * b for a, b in zip(query.vector, doc.vector, strict=True))
            norm = math.sqrt(sum(a * a for a in query.vector) * sum(b * b for b in doc.vector)) or 1.0
            score = (1 + dot / norm) / 2
            if query.min_score is None or score >= query.min_score:
                hits.append(SearchHit(memory_id, score, doc.version))
        return sorted(hits, key=lambda h: -h.score)[: query.top_k]

    def drop(self) -> None:
        self.docs.clear()
        self.versions.clear()

    def facts(self, tenant: str, scope: dict[str, str]) -> list[str]:
        return sorted(d.fact for (t, _), d in self.docs.items() if t == tenant and d.scope_key == scope_key(scope))


# -- generation -----------------------------------------------------------------------------------


@dataclass
class _JobRow:
    tenant: str
    job: Job
    spec_json: str
    parts_total: int | None = None
    candidates: int = 0
    done_parts: set[int] = field(default_factory=set)
    result: JobResult = field(default_factory=JobResult)

    def stored(self) -> StoredJob:
        return StoredJob(self.tenant, self.job, self.spec_json, self.parts_total, len(self.done_parts))

    @property
    def open(self) -> bool:
        return self.job.status in (JobStatus.PENDING, JobStatus.RUNNING)


class FakeJobRepository:
    """``services.generation.JobRepository`` in memory, with JobStore's conditions (None: condition failed)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], _JobRow] = {}

    def create(self, tenant: str, job: Job, spec: JobSpec) -> None:
        assert (tenant, job.id) not in self.rows
        self.rows[(tenant, job.id)] = _JobRow(tenant, job, spec.to_json())

    def get(self, tenant: str, job_id: str) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        return row.stored() if row else None

    def _set(self, row: _JobRow, now: datetime, **update: Any) -> StoredJob:
        row.job = row.job.model_copy(update={"update_time": now, **update})
        return row.stored()

    def mark_running(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        return self._set(row, now, status=JobStatus.RUNNING) if row and row.open else None

    def set_parts(self, tenant: str, job_id: str, parts_total: int, candidates: int, now: datetime) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        if row is None or not row.open or row.parts_total not in (None, parts_total):
            return None
        row.parts_total, row.candidates = parts_total, candidates
        return self._set(row, now)

    def record_part(self, tenant: str, job_id: str, part: int, result: JobResult, now: datetime) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        if row is None or not row.open or part in row.done_parts:
            return None
        row.done_parts.add(part)
        total = row.result
        row.result = JobResult(
            added=total.added + result.added,
            updated=total.updated + result.updated,
            deleted=total.deleted + result.deleted,
            unchanged=total.unchanged + result.unchanged,
            memory_ids=sorted(set(total.memory_ids) | set(result.memory_ids)),
        )
        return self._set(row, now, result=row.result)

    def succeed_if_complete(self, tenant: str, job_id: str, now: datetime) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        if row is None or not row.open or row.parts_total is None or len(row.done_parts) < row.parts_total:
            return None
        return self._set(row, now, status=JobStatus.SUCCEEDED, result=row.result)

    def fail(self, tenant: str, job_id: str, reason: str, now: datetime) -> StoredJob | None:
        row = self.rows.get((tenant, job_id))
        return self._set(row, now, status=JobStatus.FAILED, error=reason[:2000]) if row and row.open else None


@dataclass
class Sent:
    message: BaseModel
    group_id: str | None
    dedup_id: str | None


class FakeQueue:
    """``stores.queues.MessageQueue``: keeps what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def send(self, message: BaseModel, group_id: str | None = None, dedup_id: str | None = None) -> None:
        self.sent.append(Sent(message, group_id, dedup_id))

    def take(self) -> list[Sent]:
        taken, self.sent = self.sent, []
        return taken
