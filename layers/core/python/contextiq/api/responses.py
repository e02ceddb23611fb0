"""Turning domain results into HTTP responses (with ETags and idempotent replays)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from contextiq.container import Container
from contextiq.services.idempotency import StoredResponse


def stored(status: int, body: BaseModel, headers: dict[str, str] | None = None) -> StoredResponse:
    return {"status": status, "body": body.model_dump(mode="json"), "headers": headers or {}}


def run_once(
    container: Container,
    tenant: str,
    route: str,
    idempotency_key: str | None,
    payload: BaseModel,
    action: Callable[[], StoredResponse],
) -> tuple[StoredResponse, bool]:
    """Run ``action``; with an Idempotency-Key, at most once per key. Returns (response, replayed)."""
    if idempotency_key is None:
        return action(), False
    return container.idempotency.run(tenant, route, idempotency_key, payload.model_dump_json().encode(), action)


def to_response(result: StoredResponse, replayed: bool) -> JSONResponse:
    headers = dict(result.get("headers") or {})
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result["body"], status_code=result["status"], headers=headers)


def respond(
    container: Container,
    tenant: str,
    route: str,
    idempotency_key: str | None,
    payload: BaseModel,
    action: Callable[[], StoredResponse],
) -> JSONResponse:
    """Run ``action``; with an Idempotency-Key, at most once per key, replaying the first answer."""
    return to_response(*run_once(container, tenant, route, idempotency_key, payload, action))
