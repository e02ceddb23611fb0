"""Turning domain results into HTTP responses (with ETags and idempotent replays)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from contextiq.api.idempotency import StoredResponse
from contextiq.container import Container


def stored(status: int, body: BaseModel, headers: dict[str, str] | None = None) -> StoredResponse:
    return {"status": status, "body": body.model_dump(mode="json"), "headers": headers or {}}


def respond(
    container: Container,
    tenant: str,
    route: str,
    idempotency_key: str | None,
    payload: BaseModel,
    action: Callable[[], StoredResponse],
) -> JSONResponse:
    """Run ``action``; with an Idempotency-Key, at most once per key, replaying the first answer."""
    replayed = False
    if idempotency_key is None:
        result = action()
    else:
        result, replayed = container.idempotency.run(
            tenant, route, idempotency_key, payload.model_dump_json().encode(), action
        )
    headers = dict(result.get("headers") or {})
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result["body"], status_code=result["status"], headers=headers)
