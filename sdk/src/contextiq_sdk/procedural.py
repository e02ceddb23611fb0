"""``client.procedures`` and ``client.trajectories``: procedural memory (sync)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from contextiq_sdk import _core
from contextiq_sdk import models as m
from contextiq_sdk import models_procedural as p

if TYPE_CHECKING:
    from contextiq_sdk.client import Client


class _Resource:
    def __init__(self, client: Client) -> None:
        self._c = client


class Procedures(_Resource):
    def create(
        self,
        scope: dict[str, str],
        kind: p.ProcedureKind | str,
        name: str,
        description: str,
        steps: builtins.list[p.Step | dict[str, Any]],
        *,
        parameters: builtins.list[p.Parameter | dict[str, Any]] | None = None,
        topics: builtins.list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> p.Procedure:
        body = p.ProcedureCreate.model_validate(
            {
                "scope": scope,
                "kind": kind,
                "name": name,
                "description": description,
                "steps": steps,
                "parameters": parameters or [],
                "topics": topics or [],
                "metadata": metadata or {},
                "ttl_seconds": ttl_seconds,
            }
        )
        return self._c._call("create_procedure", body=body, idempotency_key=idempotency_key)

    def get(self, procedure_id: str) -> p.Procedure:
        return self._c._call("get_procedure", {"procedure_id": procedure_id})

    def list(
        self,
        scope: dict[str, str],
        *,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> p.ProcedurePage:
        params = {**_core.scope_params(scope), "kind": kind, "status": status, "limit": limit, "next_token": next_token}
        return self._c._call("list_procedures", params=params)

    def iter(
        self, scope: dict[str, str], *, kind: str | None = None, status: str | None = None, page_size: int | None = None
    ) -> Iterator[p.Procedure]:
        return self._c._pages(lambda t: self.list(scope, kind=kind, status=status, limit=page_size, next_token=t))

    def update(self, procedure_id: str, *, version: int | None = None, **changes: Any) -> p.Procedure:
        """Change name, description, steps, parameters, topics, metadata or status (a new revision)."""
        body = p.ProcedurePatch.model_validate(changes)
        return self._c._call("update_procedure", {"procedure_id": procedure_id}, body=body, version=version)

    def delete(self, procedure_id: str, *, version: int | None = None) -> None:
        self._c._call("delete_procedure", {"procedure_id": procedure_id}, version=version)

    def search(
        self,
        scope: dict[str, str],
        query: str,
        *,
        top_k: int = 5,
        mode: m.SearchMode = "hybrid",
        kind: str | None = None,
        min_success_rate: float | None = None,
        include_deprecated: bool = False,
    ) -> p.ProcedureSearchResponse:
        body = p.ProcedureSearchRequest.model_validate(
            {
                "scope": scope,
                "query": query,
                "top_k": top_k,
                "mode": mode,
                "kind": kind,
                "min_success_rate": min_success_rate,
                "include_deprecated": include_deprecated,
            }
        )
        return self._c._call("search_procedures", body=body)

    def feedback(
        self,
        procedure_id: str,
        outcome: str,
        *,
        note: str | None = None,
        session_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> p.Procedure:
        body = p.Feedback.model_validate({"outcome": outcome, "note": note, "session_id": session_id})
        return self._c._call(
            "procedure_feedback", {"procedure_id": procedure_id}, body=body, idempotency_key=idempotency_key
        )

    def revisions(
        self, procedure_id: str, *, limit: int | None = None, next_token: str | None = None
    ) -> p.ProcedureRevisionPage:
        params = {"limit": limit, "next_token": next_token}
        return self._c._call("list_procedure_revisions", {"procedure_id": procedure_id}, params=params)

    def generate(
        self,
        scope: dict[str, str],
        *,
        session_id: str | None = None,
        trajectory_ids: builtins.list[str] | None = None,
        task: str | None = None,
        outcome: p.Outcome | dict[str, Any] | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        wait: bool = False,
        timeout: float = 120.0,
        idempotency_key: str | None = None,
    ) -> m.Job:
        """Learn procedures from a session or trajectories (a job; ``wait=True`` returns it finished)."""
        body = p.ProcedureGenerateRequest.model_validate(
            {
                "scope": scope,
                "session_id": session_id,
                "trajectory_ids": trajectory_ids,
                "task": task,
                "outcome": outcome,
                "after_seq": after_seq,
                "before_seq": before_seq,
                "wait_seconds": min(_core.MAX_SERVER_WAIT, timeout) if wait else 0,
            }
        )
        answer = self._c._call("generate_procedures", body=body, idempotency_key=idempotency_key)
        job = answer if isinstance(answer, m.Job) else self._c.jobs.get(answer.job_id)
        return self._c.jobs.wait(job.id, timeout=timeout) if wait and not job.status.done else job


class Trajectories(_Resource):
    def create(
        self,
        scope: dict[str, str],
        task: str,
        outcome: p.Outcome | dict[str, Any],
        *,
        steps: builtins.list[p.TrajectoryStepIn | dict[str, Any]] | None = None,
        session_id: str | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> p.Trajectory:
        body = p.TrajectoryCreate.model_validate(
            {
                "scope": scope,
                "task": task,
                "outcome": outcome,
                "steps": steps,
                "session_id": session_id,
                "after_seq": after_seq,
                "before_seq": before_seq,
                "metadata": metadata or {},
                "ttl_seconds": ttl_seconds,
            }
        )
        return self._c._call("create_trajectory", body=body, idempotency_key=idempotency_key)

    def get(self, trajectory_id: str) -> p.Trajectory:
        return self._c._call("get_trajectory", {"trajectory_id": trajectory_id})

    def list(
        self,
        scope: dict[str, str],
        *,
        outcome: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> p.TrajectoryPage:
        params = {**_core.scope_params(scope), "outcome": outcome, "limit": limit, "next_token": next_token}
        return self._c._call("list_trajectories", params=params)

    def delete(self, trajectory_id: str) -> None:
        self._c._call("delete_trajectory", {"trajectory_id": trajectory_id})

    def search(
        self, scope: dict[str, str], query: str, *, top_k: int = 10, outcome: str | None = None
    ) -> p.TrajectorySearchResponse:
        body = p.TrajectorySearchRequest.model_validate(
            {"scope": scope, "query": query, "top_k": top_k, "outcome": outcome}
        )
        return self._c._call("search_trajectories", body=body)
