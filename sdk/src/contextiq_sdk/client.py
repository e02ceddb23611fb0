"""The synchronous client: ``Client(url, api_key)`` with ``sessions``, ``events``, ``memories``, ``jobs``."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from contextiq_sdk import _core, context, policies, procedural, webhooks
from contextiq_sdk import models as m
from contextiq_sdk import models_context as x
from contextiq_sdk.errors import APIConnectionError, WaitTimeoutError

T = TypeVar("T")


class Client:
    """A ContextIQ client. ``url``/``api_key`` default to CONTEXTIQ_URL/CONTEXTIQ_API_KEY, then to the
    ``.contextiq/local.json`` of a running ``contextiq local``.

    Retries 429, 5xx and connection errors with backoff (honouring Retry-After); POSTs that create
    something carry an automatic Idempotency-Key, so a retry never writes twice.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url, self.api_key = _core.resolve_config(url, api_key)
        self.retry = _core.RetryPolicy(max_retries=max_retries)
        self._http = httpx.Client(
            base_url=self.url, headers=_core.client_headers(self.api_key), timeout=timeout, transport=transport
        )
        self._sleep: Callable[[float], None] = time.sleep
        self.sessions = Sessions(self)
        self.events = Events(self)
        self.memories = Memories(self)
        self.jobs = Jobs(self)
        self.procedures = procedural.Procedures(self)
        self.trajectories = procedural.Trajectories(self)
        self.webhooks = webhooks.Webhooks(self)
        self.templates = context.Templates(self)
        self.generation_policies = policies.GenerationPolicies(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, name: str, path_params: dict[str, str] | None = None, **kwargs: Any) -> Any:
        prepared = _core.prepare(name, path_params, **kwargs)
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    prepared.method, prepared.path, params=prepared.params, json=prepared.json, headers=prepared.headers
                )
            except httpx.TransportError as err:
                if not _core.should_retry(prepared, attempt, self.retry, None):
                    raise APIConnectionError(f"{prepared.method} {prepared.path}: {err}") from err
                self._sleep(self.retry.delay(attempt, None))
            else:
                if not _core.should_retry(prepared, attempt, self.retry, response):
                    return _core.parse(prepared, response, attempt)
                self._sleep(self.retry.delay(attempt, response))
            attempt += 1

    def recall(
        self,
        scope: dict[str, str],
        query: str,
        *,
        top_k: int = 10,
        sources: builtins.list[m.RecallSource] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        filter: dict[str, Any] | None = None,
        use_query_dates: bool = True,
    ) -> m.RecallResponse:
        """Memories of the scope and events of its user's sessions, fused by rank (``sources`` narrows)."""
        body = m.RecallRequest(
            scope=scope,
            query=query,
            top_k=top_k,
            sources=sources,
            after=after,
            before=before,
            filter=filter,
            use_query_dates=use_query_dates,
        )
        return self._call("recall", body=body)

    def assemble_context(
        self,
        max_tokens: int,
        *,
        session_id: str | None = None,
        scope: dict[str, str] | None = None,
        query: str | None = None,
        recent_events: int = 10,
        memories: int = 10,
        events: int = 5,
        procedures: int = 3,
        template_id: str | None = None,
        template: str | None = None,
        template_version: int | None = None,
        variables: dict[str, Any] | None = None,
    ) -> x.ContextResponse:
        """The context for the next prompt: the session's last turns, memories, earlier turns and procedures,
        rendered through a template within ``max_tokens`` (docs/context.md)."""
        body = x.ContextRequest(
            session_id=session_id,
            scope=scope,
            query=query,
            max_tokens=max_tokens,
            recent_events=recent_events,
            memories=memories,
            events=events,
            procedures=procedures,
            template_id=template_id,
            template=template,
            template_version=template_version,
            variables=variables or {},
        )
        return self._call("assemble_context", body=body)

    def _pages(self, fetch: Callable[[str | None], m.Page[T]]) -> Iterator[T]:
        token: str | None = None
        while True:
            page = fetch(token)
            yield from page.items
            if not page.next_token:
                return
            token = page.next_token


class _Resource:
    def __init__(self, client: Client) -> None:
        self._c = client


class Sessions(_Resource):
    def create(
        self,
        user_id: str,
        app_name: str | None = None,
        *,
        state: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        index_events: bool = True,
        idempotency_key: str | None = None,
    ) -> m.Session:
        """``index_events=False``: this session's turns never reach event search or recall."""
        body = m.SessionCreate(
            user_id=user_id,
            app_name=app_name,
            state=state or {},
            metadata=metadata or {},
            ttl_seconds=ttl_seconds,
            index_events=index_events,
        )
        return self._c._call("create_session", body=body, idempotency_key=idempotency_key)

    def get(self, session_id: str) -> m.Session:
        return self._c._call("get_session", {"session_id": session_id})

    def list(
        self, user_id: str, app_name: str | None = None, *, limit: int | None = None, next_token: str | None = None
    ) -> m.SessionPage:
        params = {"user_id": user_id, "app_name": app_name, "limit": limit, "next_token": next_token}
        return self._c._call("list_sessions", params=params)

    def iter(self, user_id: str, app_name: str | None = None, *, page_size: int | None = None) -> Iterator[m.Session]:
        return self._c._pages(lambda t: self.list(user_id, app_name, limit=page_size, next_token=t))

    def delete(self, session_id: str) -> None:
        self._c._call("delete_session", {"session_id": session_id})

    def patch_state(
        self,
        session_id: str,
        set: dict[str, Any] | None = None,
        remove: builtins.list[str] | None = None,
        *,
        version: int | None = None,
    ) -> m.Session:
        body = m.StatePatch(set=set or {}, remove=remove or [])
        return self._c._call("patch_state", {"session_id": session_id}, body=body, version=version)

    def checkpoint(
        self,
        session_id: str,
        name: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Checkpoint:
        """Record the session's state exactly as it is at its last seq (to fork from later)."""
        body = m.CheckpointCreate(name=name, metadata=metadata or {})
        path = {"session_id": session_id}
        return self._c._call("create_checkpoint", path, body=body, idempotency_key=idempotency_key)

    def list_checkpoints(
        self, session_id: str, *, limit: int | None = None, next_token: str | None = None
    ) -> m.CheckpointPage:
        params = {"limit": limit, "next_token": next_token}
        return self._c._call("list_checkpoints", {"session_id": session_id}, params=params)

    def iter_checkpoints(self, session_id: str, *, page_size: int | None = None) -> Iterator[m.Checkpoint]:
        return self._c._pages(lambda t: self.list_checkpoints(session_id, limit=page_size, next_token=t))

    def get_checkpoint(self, session_id: str, checkpoint_id: str) -> m.Checkpoint:
        return self._c._call("get_checkpoint", {"session_id": session_id, "checkpoint_id": checkpoint_id})

    def delete_checkpoint(self, session_id: str, checkpoint_id: str) -> None:
        self._c._call("delete_checkpoint", {"session_id": session_id, "checkpoint_id": checkpoint_id})

    def fork(
        self,
        session_id: str,
        *,
        checkpoint_id: str | None = None,
        at_seq: int | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> m.Session:
        """A new session: the events up to a checkpoint or ``at_seq`` (copies) and the state at that point."""
        body = m.ForkCreate(checkpoint_id=checkpoint_id, at_seq=at_seq, metadata=metadata, ttl_seconds=ttl_seconds)
        path = {"session_id": session_id}
        return self._c._call("fork_session", path, body=body, idempotency_key=idempotency_key)


class Events(_Resource):
    def append(
        self,
        session_id: str,
        author: str,
        text: str | None = None,
        *,
        role: str | None = None,
        parts: builtins.list[dict[str, Any]] | None = None,
        timestamp: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        state_delta: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Event:
        body = m.EventCreate(
            author=author,
            role=role,
            content=m.EventContent(text=text, parts=parts),
            timestamp=timestamp,
            metadata=metadata or {},
            state_delta=state_delta,
        )
        return self._c._call("append_event", {"session_id": session_id}, body=body, idempotency_key=idempotency_key)

    def list(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> m.EventPage:
        params = {"after_seq": after_seq, "limit": limit, "next_token": next_token}
        return self._c._call("list_events", {"session_id": session_id}, params=params)

    def iter(self, session_id: str, *, after_seq: int | None = None, page_size: int | None = None) -> Iterator[m.Event]:
        return self._c._pages(lambda t: self.list(session_id, after_seq=after_seq, limit=page_size, next_token=t))

    def search(
        self,
        user_id: str,
        query: str,
        *,
        app_name: str | None = None,
        session_id: str | None = None,
        top_k: int = 10,
        mode: m.SearchMode = "hybrid",
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> m.EventSearchResponse:
        """Search what was said in one user's sessions (optionally one app or one session)."""
        body = m.EventSearchRequest(
            user_id=user_id,
            app_name=app_name,
            session_id=session_id,
            query=query,
            top_k=top_k,
            mode=mode,
            after=after,
            before=before,
        )
        return self._c._call("search_events", body=body)


class Memories(_Resource):
    def add(
        self,
        scope: dict[str, str],
        fact: str,
        *,
        topics: builtins.list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        event_time: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> m.Memory:
        body = m.MemoryCreate(
            scope=scope,
            fact=fact,
            topics=topics or [],
            metadata=metadata or {},
            ttl_seconds=ttl_seconds,
            event_time=event_time,
        )
        return self._c._call("create_memory", body=body, idempotency_key=idempotency_key)

    def get(self, memory_id: str) -> m.Memory:
        return self._c._call("get_memory", {"memory_id": memory_id})

    def list(
        self,
        scope: dict[str, str],
        *,
        topic: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> m.MemoryPage:
        params = {**_core.scope_params(scope), "topic": topic, "limit": limit, "next_token": next_token}
        return self._c._call("list_memories", params=params)

    def iter(
        self, scope: dict[str, str], *, topic: str | None = None, page_size: int | None = None
    ) -> Iterator[m.Memory]:
        return self._c._pages(lambda t: self.list(scope, topic=topic, limit=page_size, next_token=t))

    def search(
        self,
        scope: dict[str, str],
        query: str,
        *,
        top_k: int = 10,
        mode: m.SearchMode = "hybrid",
        min_score: float | None = None,
        topics: builtins.list[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        filter: dict[str, Any] | None = None,
    ) -> m.SearchResponse:
        """Hybrid (default), semantic or keyword search; ``after``/``before`` filter on ``event_time``,
        ``filter`` on metadata (``{"metadata.<key>": value | {"in": [...]} | {"gte": n, "lte": n}}``)."""
        body = m.SearchRequest(
            scope=scope,
            query=query,
            top_k=top_k,
            mode=mode,
            min_score=min_score,
            topics=topics,
            after=after,
            before=before,
            filter=filter,
        )
        return self._c._call("search_memories", body=body)

    def update(
        self,
        memory_id: str,
        *,
        fact: str | None = None,
        topics: builtins.list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        event_time: datetime | None = None,
        version: int | None = None,
    ) -> m.Memory:
        body = m.MemoryPatch(fact=fact, topics=topics, metadata=metadata, event_time=event_time)
        return self._c._call("patch_memory", {"memory_id": memory_id}, body=body, version=version)

    def delete(self, memory_id: str, *, version: int | None = None) -> None:
        self._c._call("delete_memory", {"memory_id": memory_id}, version=version)

    def revisions(self, memory_id: str, *, limit: int | None = None, next_token: str | None = None) -> m.RevisionPage:
        params = {"limit": limit, "next_token": next_token}
        return self._c._call("list_revisions", {"memory_id": memory_id}, params=params)

    def iter_revisions(self, memory_id: str, *, page_size: int | None = None) -> Iterator[m.Revision]:
        return self._c._pages(lambda t: self.revisions(memory_id, limit=page_size, next_token=t))

    def generate(
        self,
        *,
        session_id: str | None = None,
        events: Sequence[m.DirectEvent | dict[str, Any]] | None = None,
        facts: builtins.list[str] | None = None,
        scope: dict[str, str] | None = None,
        after_seq: int | None = None,
        topics: builtins.list[str | m.CustomTopic] | None = None,
        examples: builtins.list[m.Example] | None = None,
        disable_consolidation: bool = False,
        wait: bool = False,
        timeout: float = 120.0,
        idempotency_key: str | None = None,
    ) -> m.Job:
        """Start a generation job from exactly one of ``session_id``, ``events`` or ``facts``.

        Returns the job; with ``wait=True`` the finished job (the server waits up to 25 s, then this
        polls with backoff until ``timeout``, raising WaitTimeoutError).
        """
        body = _core.generate_body(
            session_id, events, facts, scope, after_seq, topics, examples, disable_consolidation, wait, timeout
        )
        answer = self._c._call("generate", body=body, idempotency_key=idempotency_key)
        job = answer if isinstance(answer, m.Job) else self._c.jobs.get(answer.job_id)
        return self._c.jobs.wait(job.id, timeout=timeout) if wait and not job.status.done else job


class Jobs(_Resource):
    def get(self, job_id: str) -> m.Job:
        return self._c._call("get_job", {"job_id": job_id})

    def wait(self, job_id: str, *, timeout: float = 120.0) -> m.Job:
        """Poll until the job SUCCEEDED or FAILED (0.2 s doubling to 2 s between polls)."""
        deadline = _core.monotonic() + timeout
        backoff = _core.Backoff()
        while True:
            job = self.get(job_id)
            if job.status.done:
                return job
            left = deadline - _core.monotonic()
            if left <= 0:
                raise WaitTimeoutError(job, timeout)
            self._c._sleep(min(backoff(), left))
