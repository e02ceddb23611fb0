"""Memories: create, read, update, delete with revisions; list a scope; search by meaning.

DynamoDB (through ``MemoryRepository``) is the record. Writers also push each change to the vector
index right away, so a client finds what it just wrote; the DynamoDB stream -> indexer path applies
the same change again later, which versions make harmless, and repairs any write-through that failed.
Search results are re-read from the record, so a deleted or expired memory can never be returned even
while the index lags.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from contextiq.ai.embedders.base import Embedder
from contextiq.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PreconditionFailedError,
    VersionConflictError,
)
from contextiq.ids import epoch, epoch_ms, new_id, utcnow
from contextiq.models.filters import conditions, matches
from contextiq.models.memories import (
    Memory,
    MemoryCreate,
    MemoryPatch,
    Revision,
    RevisionAction,
    SearchRequest,
    SearchResponse,
    SearchResult,
    Source,
    scope_key,
)
from contextiq.observability import count, logger, timed
from contextiq.retry import Backoff, attempts
from contextiq.stores.dynamo.memories import StoredMemory
from contextiq.stores.vector.base import Condition, SearchQuery, VectorIndex
from contextiq.stores.vector.documents import apply_memory


class MemoryRepository(Protocol):
    def put(
        self,
        tenant: str,
        memory: Memory,
        vector: Sequence[float],
        model: str,
        revision: Revision,
        expected_version: int | None,
    ) -> None: ...
    def tombstone(
        self, tenant: str, memory_id: str, expected_version: int, revision: Revision, now: datetime
    ) -> None: ...
    def get(self, tenant: str, memory_id: str) -> StoredMemory | None: ...
    def get_many(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, StoredMemory]: ...
    def list_scope(
        self,
        tenant: str,
        scope: dict[str, str],
        topic: str | None,
        limit: int,
        token: str | None,
        *,
        now: datetime,
    ) -> tuple[list[StoredMemory], str | None]: ...
    def revisions(
        self, tenant: str, memory_id: str, limit: int, token: str | None
    ) -> tuple[list[Revision], str | None]: ...


class MemoryService:
    # A change without If-Match applies to the latest version: a lost race re-reads and re-applies it.
    # As for appends, 64 rounds settle dozens of concurrent writers; only then 409 (retry).
    MAX_ATTEMPTS = 64
    BACKOFF = Backoff(base=0.005, cap=0.2)

    def __init__(
        self,
        repo: MemoryRepository,
        embedder: Embedder,
        index: VectorIndex,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._embedder = embedder
        self._index = index
        self._clock = clock
        self._sleep = sleep

    # -- reads ----------------------------------------------------------------------------------

    def _live(self, stored: StoredMemory | None, now: datetime) -> StoredMemory | None:
        if stored is None or stored.deleted:
            return None
        expire = stored.memory.expire_time
        return None if expire and expire <= now else stored

    def _get_live(self, tenant: str, memory_id: str) -> StoredMemory:
        stored = self._live(self._repo.get(tenant, memory_id), self._clock())
        if stored is None:
            raise NotFoundError(f"memory {memory_id} not found")
        return stored

    def get(self, tenant: str, memory_id: str) -> Memory:
        return self._get_live(tenant, memory_id).memory

    def list_scope(
        self, tenant: str, scope: dict[str, str], topic: str | None, limit: int, token: str | None
    ) -> tuple[list[Memory], str | None]:
        items, next_token = self._repo.list_scope(tenant, scope, topic, limit, token, now=self._clock())
        return [s.memory for s in items], next_token

    def revisions(
        self, tenant: str, memory_id: str, limit: int, token: str | None
    ) -> tuple[list[Revision], str | None]:
        items, next_token = self._repo.revisions(tenant, memory_id, limit, token)
        if not items and token is None:
            raise NotFoundError(f"memory {memory_id} not found")
        return items, next_token

    # -- writes ---------------------------------------------------------------------------------

    def _write_through(self, stored: StoredMemory) -> None:
        try:
            apply_memory(self._index, stored)
        except Exception:  # the stream indexer repairs it; the record is already safe
            logger.exception("write-through to the vector index failed", extra={"memory_id": stored.memory.id})

    def create(
        self,
        tenant: str,
        req: MemoryCreate,
        actor: str,
        source: Source | None = None,
        memory_id: str | None = None,
    ) -> Memory:
        now = self._clock()
        expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0) if req.ttl_seconds else None
        memory = Memory(
            id=memory_id or new_id(),
            scope=req.scope,
            fact=req.fact,
            topics=req.topics,
            metadata=req.metadata,
            source=source,
            create_time=now,
            update_time=now,
            expire_time=expire,
            event_time=req.event_time or now,
            version=1,
        )
        vector = self._embedder.embed([memory.fact])[0]
        revision = self._revision(RevisionAction.CREATED, memory.id, memory.fact, None, actor, source, now, 1)
        try:
            self._repo.put(tenant, memory, vector, self._embedder.model_id, revision, expected_version=None)
        except VersionConflictError as err:
            raise ConflictError(f"memory {memory.id} already exists") from err
        self._write_through(StoredMemory(tenant, memory, vector, self._embedder.model_id))
        count("MemoriesAdded")
        return memory

    def _stale(self, current: int, expected: int) -> PreconditionFailedError:
        return PreconditionFailedError(
            f"memory is at version {current}, not {expected}",
            [FieldProblem("header.If-Match", f"stale: current version is {current}")],
        )

    def _change(
        self,
        tenant: str,
        memory_id: str,
        if_match: int | None,
        write: Callable[[StoredMemory, datetime], StoredMemory],
    ) -> StoredMemory:
        """Read, check ``If-Match``, ``write`` (conditioned on the version read), retry lost races.

        With ``if_match`` a lost race is a 412 (the caller's precondition no longer holds); without it
        the change is re-applied to the newer version. Returns what was written (for the index).
        """
        for _ in attempts(self.MAX_ATTEMPTS, self.BACKOFF, self._sleep):
            stored = self._get_live(tenant, memory_id)
            if if_match is not None and stored.memory.version != if_match:
                raise self._stale(stored.memory.version, if_match)
            try:
                written = write(stored, self._clock())
            except VersionConflictError:
                if if_match is not None:
                    raise self._stale(stored.memory.version + 1, if_match) from None
                continue
            self._write_through(written)
            return written
        raise ConflictError("the memory is under heavy concurrent writes; retry the request")

    def _revision(
        self, action: RevisionAction, memory_id: str, fact: str, previous: str | None, actor: str,
        source: Source | None, now: datetime, version: int,
    ) -> Revision:  # fmt: skip
        return Revision(
            revision_id=new_id(), memory_id=memory_id, action=action, fact=fact, previous_fact=previous,
            actor=actor, source=source, time=now, version=version,
        )  # fmt: skip

    def update(
        self,
        tenant: str,
        memory_id: str,
        patch: MemoryPatch,
        actor: str,
        if_match: int | None = None,
        source: Source | None = None,
    ) -> Memory:
        def write(stored: StoredMemory, now: datetime) -> StoredMemory:
            old = stored.memory
            memory = old.model_copy(
                update={
                    "fact": patch.fact if patch.fact is not None else old.fact,
                    "topics": patch.topics if patch.topics is not None else old.topics,
                    "metadata": patch.metadata if patch.metadata is not None else old.metadata,
                    "event_time": patch.event_time if patch.event_time is not None else old.event_time,
                    "source": source or old.source,
                    "update_time": now,
                    "version": old.version + 1,
                }
            )
            vector = stored.vector
            if memory.fact != old.fact or vector is None or stored.embedding_model != self._embedder.model_id:
                vector = self._embedder.embed([memory.fact])[0]
            revision = self._revision(
                RevisionAction.UPDATED, memory_id, memory.fact, old.fact, actor, source, now, memory.version
            )
            self._repo.put(tenant, memory, vector, self._embedder.model_id, revision, expected_version=old.version)
            return StoredMemory(tenant, memory, vector, self._embedder.model_id)

        written = self._change(tenant, memory_id, if_match, write)
        count("MemoriesUpdated")
        return written.memory

    def delete(
        self,
        tenant: str,
        memory_id: str,
        actor: str,
        if_match: int | None = None,
        source: Source | None = None,
    ) -> None:
        def write(stored: StoredMemory, now: datetime) -> StoredMemory:
            old = stored.memory
            revision = self._revision(
                RevisionAction.DELETED, memory_id, old.fact, old.fact, actor, source, now, old.version + 1
            )
            self._repo.tombstone(tenant, memory_id, old.version, revision, now)
            return StoredMemory(tenant, old.model_copy(update={"version": old.version + 1}), None, None, deleted=True)

        self._change(tenant, memory_id, if_match, write)
        count("MemoriesDeleted")

    # -- search ---------------------------------------------------------------------------------

    def _query(
        self,
        tenant: str,
        scope: dict[str, str],
        text: str,
        top_k: int,
        mode: str,
        min_score: float | None,
        topics: Sequence[str] | None,
        after: datetime | None = None,
        before: datetime | None = None,
        filters: tuple[Condition, ...] = (),
        vector: Sequence[float] | None = None,
    ) -> list[tuple[StoredMemory, float]]:
        """Best first; ``vector`` lets a caller that already embedded ``text`` reuse it."""
        now = self._clock()
        if mode == "keyword":
            vector = None
        elif vector is None:
            vector = self._embedder.embed_query(text)
        hits = self._index.search(
            SearchQuery(
                tenant=tenant,
                scope_key=scope_key(scope),
                text=text,
                vector=vector,
                top_k=top_k,
                mode=mode,  # type: ignore[arg-type]
                min_score=min_score,
                topics=tuple(topics or ()),
                now=epoch(now),
                after=epoch_ms(after) if after else None,
                before=epoch_ms(before) if before else None,
                filters=filters,
            )
        )
        records = self._repo.get_many(tenant, [h.memory_id for h in hits])
        results = []
        for hit in hits:
            stored = self._live(records.get(hit.memory_id), now)
            if stored is None or stored.memory.scope != scope:
                continue
            when = stored.memory.event_time  # the record decides, even while the index lags a change
            if (after is not None and when < after) or (before is not None and when >= before):
                continue
            if filters and not matches(stored.memory.metadata, filters):
                continue
            results.append((stored, hit.score))
        return results

    def search(self, tenant: str, req: SearchRequest) -> SearchResponse:
        with timed("SearchLatency"):
            found = self._query(
                tenant, req.scope, req.query, req.top_k, req.mode, req.min_score, req.topics, req.after, req.before,
                conditions(req.filter),
            )  # fmt: skip
        return SearchResponse(results=[SearchResult(memory=s.memory, score=score) for s, score in found])

    def similar(self, tenant: str, scope: dict[str, str], text: str, top_k: int = 5) -> list[tuple[Memory, float]]:
        """The memories of ``scope`` closest in meaning to ``text`` (for consolidation), best first."""
        return [(s.memory, score) for s, score in self._query(tenant, scope, text, top_k, "semantic", None, None)]

    def find(
        self,
        tenant: str,
        scope: dict[str, str],
        text: str,
        top_k: int,
        *,
        after: datetime | None = None,
        before: datetime | None = None,
        filters: tuple[Condition, ...] = (),
        vector: Sequence[float] | None = None,
    ) -> list[tuple[Memory, float]]:
        """Hybrid search for recall: the memories of ``scope``, best first."""
        found = self._query(tenant, scope, text, top_k, "hybrid", None, None, after, before, filters, vector)
        return [(s.memory, score) for s, score in found]
