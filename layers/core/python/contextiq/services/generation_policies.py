"""Generation policies, the API side: per-app policies (CRUD) and a session's own policy (PATCH)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from contextiq.errors import (
    ConflictError,
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    VersionConflictError,
)
from contextiq.ids import utcnow
from contextiq.models.policies import AppGenerationPolicy, GenerationPolicy, template_placeholders
from contextiq.models.sessions import Session
from contextiq.retry import attempts
from contextiq.services.sessions import SessionService


class PolicyAdminRepository(Protocol):
    def put(
        self, tenant: str, app_name: str, policy: GenerationPolicy, now: datetime, expected_version: int | None
    ) -> AppGenerationPolicy: ...
    def get(self, tenant: str, app_name: str) -> AppGenerationPolicy | None: ...
    def delete(self, tenant: str, app_name: str) -> bool: ...
    def list(self, tenant: str, limit: int, token: str | None) -> tuple[list[AppGenerationPolicy], str | None]: ...
    def set_session_policy(
        self, tenant: str, session: Session, policy: GenerationPolicy | None, now: datetime
    ) -> Session: ...


class GenerationPolicyService:
    def __init__(
        self,
        repo: PolicyAdminRepository,
        sessions: SessionService,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._clock = clock
        self._sleep = sleep

    def put(self, tenant: str, app_name: str, policy: GenerationPolicy, if_match: int | None) -> AppGenerationPolicy:
        try:
            return self._repo.put(tenant, app_name, policy, self._clock(), if_match)
        except VersionConflictError as err:
            raise PreconditionFailedError(
                f"the policy of {app_name!r} is not at version {if_match}",
                [FieldProblem("header.If-Match", "stale or absent: read the policy again")],
            ) from err

    def get(self, tenant: str, app_name: str) -> AppGenerationPolicy:
        found = self._repo.get(tenant, app_name)
        if found is None:
            raise NotFoundError(f"no generation policy for app {app_name!r}")
        return found

    def delete(self, tenant: str, app_name: str) -> None:
        if not self._repo.delete(tenant, app_name):
            raise NotFoundError(f"no generation policy for app {app_name!r}")

    def list(self, tenant: str, limit: int, token: str | None) -> tuple[list[AppGenerationPolicy], str | None]:
        return self._repo.list(tenant, limit, token)

    def set_session_policy(
        self, tenant: str, session_id: str, policy: GenerationPolicy | None, if_match: int | None
    ) -> Session:
        """Set (None: remove) the session's own policy; with ``if_match`` only onto that version."""
        for _ in attempts(SessionService.MAX_APPEND_ATTEMPTS, SessionService.BACKOFF, self._sleep):
            session = self._sessions.get(tenant, session_id)
            if if_match is not None and session.version != if_match:
                raise PreconditionFailedError(
                    f"session is at version {session.version}, not {if_match}",
                    [FieldProblem("header.If-Match", f"stale: current version is {session.version}")],
                )
            if (
                policy is not None
                and session.app_name is None
                and "app_name" in template_placeholders(policy.scope_template)
            ):
                raise InvalidInputError(
                    "scope_template uses {app_name} but the session has no app_name",
                    [FieldProblem("generation_policy.scope_template", "uses {app_name}; the session has none")],
                )
            try:
                return self._repo.set_session_policy(tenant, session, policy, self._clock())
            except VersionConflictError as err:
                if if_match is not None:
                    raise PreconditionFailedError(
                        "the session changed while the policy was set", [FieldProblem("header.If-Match", "stale")]
                    ) from err
        raise ConflictError("the session is under heavy concurrent writes; retry the request")
