"""``client.generation_policies`` and the policy/job-list calls of sessions and jobs (sync and async).

Kept beside ``client.py``/``aclient.py`` so each stays readable; ``Client``/``AsyncClient`` attach them.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from contextiq_sdk import models as m
from contextiq_sdk.errors import NotFoundError

if TYPE_CHECKING:
    from contextiq_sdk.aclient import AsyncClient
    from contextiq_sdk.client import Client


def policy_body(policy: m.GenerationPolicy | dict[str, Any] | None, **fields: Any) -> m.GenerationPolicy:
    """A policy from a model, a dict, or keyword fields (``every_n_events=5``)."""
    if isinstance(policy, m.GenerationPolicy):
        return policy
    return m.GenerationPolicy.model_validate({**(policy or {}), **{k: v for k, v in fields.items() if v is not None}})


def app_policy_body(policy: m.GenerationPolicy | dict[str, Any] | None, **fields: Any) -> m.AppPolicy:
    """An app's policy (with ``index_events``) from a model, a dict, or keyword fields."""
    if isinstance(policy, m.GenerationPolicy):
        policy = policy.model_dump(exclude_unset=True)
    return m.AppPolicy.model_validate({**(policy or {}), **{k: v for k, v in fields.items() if v is not None}})


def with_event_indexing(current: m.AppGenerationPolicy | None, enabled: bool) -> m.AppPolicy:
    """The app's policy as it is, with ``index_events`` set (a new policy without triggers when none)."""
    kept = current.model_dump(exclude={"app_name", "create_time", "update_time", "version"}) if current else {}
    return m.AppPolicy.model_validate({**kept, "index_events": enabled})


class GenerationPolicies:
    """Per-app generation policies: memories form after N events, after idle time, or at session delete."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def put(
        self,
        app_name: str,
        policy: m.GenerationPolicy | dict[str, Any] | None = None,
        *,
        every_n_events: int | None = None,
        idle_seconds: int | None = None,
        on_session_delete: bool | None = None,
        topics: builtins.list[Any] | None = None,
        scope_template: dict[str, str] | None = None,
        index_events: bool | None = None,
        version: int | None = None,
    ) -> m.AppGenerationPolicy:
        body = app_policy_body(
            policy,
            every_n_events=every_n_events,
            idle_seconds=idle_seconds,
            on_session_delete=on_session_delete,
            topics=topics,
            scope_template=scope_template,
            index_events=index_events,
        )
        return self._c._call("put_generation_policy", {"app_name": app_name}, body=body, version=version)

    def set_event_indexing(self, app_name: str, enabled: bool) -> m.AppGenerationPolicy:
        """Turn turn-level event indexing of the app on or off, keeping the rest of its policy (read, then a
        conditional put; ``enabled=False`` also removes the app's turns already indexed)."""
        try:
            current: m.AppGenerationPolicy | None = self.get(app_name)
        except NotFoundError:
            current = None
        body = with_event_indexing(current, enabled)
        version = current.version if current else None
        return self._c._call("put_generation_policy", {"app_name": app_name}, body=body, version=version)

    def get(self, app_name: str) -> m.AppGenerationPolicy:
        return self._c._call("get_generation_policy", {"app_name": app_name})

    def list(self, *, limit: int | None = None, next_token: str | None = None) -> m.AppGenerationPolicyPage:
        return self._c._call("list_generation_policies", params={"limit": limit, "next_token": next_token})

    def iter(self, *, page_size: int | None = None) -> Iterator[m.AppGenerationPolicy]:
        return self._c._pages(lambda t: self.list(limit=page_size, next_token=t))

    def delete(self, app_name: str) -> None:
        self._c._call("delete_generation_policy", {"app_name": app_name})

    def set_for_session(
        self, session_id: str, policy: m.GenerationPolicy | dict[str, Any] | None, *, version: int | None = None
    ) -> m.Session:
        """The session's own policy (``None`` removes it: the app's applies again)."""
        body = m.SessionPatch(generation_policy=None if policy is None else policy_body(policy))
        return self._c._call("patch_session", {"session_id": session_id}, body=body, version=version)

    def jobs(self, session_id: str, *, limit: int | None = None, next_token: str | None = None) -> m.JobPage:
        """A session's generation jobs, oldest first (its policy's and its generate requests')."""
        params = {"session_id": session_id, "limit": limit, "next_token": next_token}
        return self._c._call("list_jobs", params=params)

    def iter_jobs(self, session_id: str, *, page_size: int | None = None) -> Iterator[m.Job]:
        return self._c._pages(lambda t: self.jobs(session_id, limit=page_size, next_token=t))


class AsyncGenerationPolicies:
    """``GenerationPolicies`` for ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def put(
        self,
        app_name: str,
        policy: m.GenerationPolicy | dict[str, Any] | None = None,
        *,
        every_n_events: int | None = None,
        idle_seconds: int | None = None,
        on_session_delete: bool | None = None,
        topics: builtins.list[Any] | None = None,
        scope_template: dict[str, str] | None = None,
        index_events: bool | None = None,
        version: int | None = None,
    ) -> m.AppGenerationPolicy:
        body = app_policy_body(
            policy,
            every_n_events=every_n_events,
            idle_seconds=idle_seconds,
            on_session_delete=on_session_delete,
            topics=topics,
            scope_template=scope_template,
            index_events=index_events,
        )
        return await self._c._call("put_generation_policy", {"app_name": app_name}, body=body, version=version)

    async def set_event_indexing(self, app_name: str, enabled: bool) -> m.AppGenerationPolicy:
        """Turn turn-level event indexing of the app on or off, keeping the rest of its policy (read, then a
        conditional put; ``enabled=False`` also removes the app's turns already indexed)."""
        try:
            current: m.AppGenerationPolicy | None = await self.get(app_name)
        except NotFoundError:
            current = None
        body = with_event_indexing(current, enabled)
        version = current.version if current else None
        return await self._c._call("put_generation_policy", {"app_name": app_name}, body=body, version=version)

    async def get(self, app_name: str) -> m.AppGenerationPolicy:
        return await self._c._call("get_generation_policy", {"app_name": app_name})

    async def list(self, *, limit: int | None = None, next_token: str | None = None) -> m.AppGenerationPolicyPage:
        return await self._c._call("list_generation_policies", params={"limit": limit, "next_token": next_token})

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[m.AppGenerationPolicy]:
        return self._c._pages(lambda t: self.list(limit=page_size, next_token=t))

    async def delete(self, app_name: str) -> None:
        await self._c._call("delete_generation_policy", {"app_name": app_name})

    async def set_for_session(
        self, session_id: str, policy: m.GenerationPolicy | dict[str, Any] | None, *, version: int | None = None
    ) -> m.Session:
        body = m.SessionPatch(generation_policy=None if policy is None else policy_body(policy))
        return await self._c._call("patch_session", {"session_id": session_id}, body=body, version=version)

    async def jobs(self, session_id: str, *, limit: int | None = None, next_token: str | None = None) -> m.JobPage:
        params = {"session_id": session_id, "limit": limit, "next_token": next_token}
        return await self._c._call("list_jobs", params=params)

    def iter_jobs(self, session_id: str, *, page_size: int | None = None) -> AsyncIterator[m.Job]:
        return self._c._pages(lambda t: self.jobs(session_id, limit=page_size, next_token=t))
