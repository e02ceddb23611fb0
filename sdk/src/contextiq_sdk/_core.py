"""What the sync and async clients share: configuration, request building, retry decisions, parsing."""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from contextiq_sdk import __version__
from contextiq_sdk.errors import ConfigurationError, error_for
from contextiq_sdk.routes import ROUTES, Route

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOCAL_STATE = Path(".contextiq") / "local.json"


def find_local_state(start: Path | None = None) -> dict[str, Any] | None:
    """``.contextiq/local.json`` of a running ``contextiq local`` (in the working directory or above)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        state = folder / LOCAL_STATE
        if state.is_file():
            try:
                data = json.loads(state.read_text())
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None
    return None


def resolve_config(url: str | None, api_key: str | None) -> tuple[str, str]:
    """Arguments first, then CONTEXTIQ_URL / CONTEXTIQ_API_KEY, then a running local server's state."""
    url = url or os.environ.get("CONTEXTIQ_URL")
    api_key = api_key or os.environ.get("CONTEXTIQ_API_KEY")
    if not (url and api_key):
        local = find_local_state() or {}
        url = url or local.get("url")
        api_key = api_key or local.get("api_key")
    if not url:
        raise ConfigurationError("no ContextIQ URL: pass url=, set CONTEXTIQ_URL, or start `contextiq local`")
    if not api_key:
        raise ConfigurationError("no API key: pass api_key=, set CONTEXTIQ_API_KEY, or start `contextiq local`")
    return url.rstrip("/"), api_key


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a Retry-After header wins (up to ``max_retry_after``)."""

    max_retries: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = retry_after_seconds(response.headers.get("retry-after"))
            if after is not None:
                return min(after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class Prepared:
    route: Route
    method: str
    path: str
    params: dict[str, Any]
    json: Any
    headers: dict[str, str]

    @property
    def retryable(self) -> bool:
        """POSTs are retried only when they carry an Idempotency-Key or change nothing."""
        return self.method != "POST" or "Idempotency-Key" in self.headers or self.route.read_only


def prepare(
    name: str,
    path_params: dict[str, str] | None = None,
    *,
    params: dict[str, Any] | None = None,
    body: BaseModel | None = None,
    version: int | None = None,
    idempotency_key: str | None = None,
) -> Prepared:
    route = ROUTES[name]
    path = route.path.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
    headers: dict[str, str] = {}
    if route.idempotency_key:
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    if version is not None:
        if not route.if_match:
            raise ValueError(f"{name} takes no version")
        headers["If-Match"] = f'"{version}"'
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    payload = body.model_dump(mode="json", exclude_none=True) if body is not None else None
    if payload is not None:  # fields where null means something (e.g. "remove the session's own policy")
        payload |= {k: None for k in getattr(body, "null_means_remove", ()) if getattr(body, k) is None}
    return Prepared(route, route.method, path, clean, payload, headers)


def parse(prepared: Prepared, response: httpx.Response, attempt: int) -> Any:
    """The response model for a 2xx, else raise the typed problem.

    A DELETE retried after a lost answer finds the resource gone: that is the success it was waiting for.
    """
    status = response.status_code
    if prepared.method == "DELETE" and status == 404 and attempt > 0:
        return None
    if status >= 400:
        raise error_for(response)
    model = prepared.route.responses.get(status)
    if model is None:
        if status in prepared.route.responses:
            return None
        raise error_for(response)
    return model.model_validate(response.json())


def should_retry(prepared: Prepared, attempt: int, policy: RetryPolicy, response: httpx.Response | None) -> bool:
    if attempt >= policy.max_retries or not prepared.retryable:
        return False
    return response is None or response.status_code in RETRY_STATUSES


def client_headers(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key, "user-agent": f"contextiq-sdk-python/{__version__}"}


def scope_params(scope: dict[str, str]) -> dict[str, str]:
    return {f"scope.{k}": v for k, v in scope.items()}


class Backoff:
    """Delays between polls of a job: 0.2 s doubling up to ``cap``."""

    def __init__(self, first: float = 0.2, cap: float = 2.0) -> None:
        self.next, self.cap = first, cap

    def __call__(self) -> float:
        current, self.next = self.next, min(self.cap, self.next * 2)
        return current


def monotonic() -> float:
    return time.monotonic()


def generate_body(
    session_id: str | None,
    events: Sequence[Any] | None,
    facts: list[str] | None,
    scope: dict[str, str] | None,
    after_seq: int | None,
    topics: list[Any] | None,
    examples: list[Any] | None,
    disable_consolidation: bool,
    wait: bool,
    timeout: float,
) -> BaseModel:
    from contextiq_sdk.models import DirectEvent, GenerateRequest

    return GenerateRequest(
        session_id=session_id,
        events=[e if isinstance(e, DirectEvent) else DirectEvent.model_validate(e) for e in events]
        if events is not None
        else None,
        facts=facts,
        scope=scope,
        after_seq=after_seq,
        topics=topics,
        examples=examples,
        disable_consolidation=disable_consolidation,
        wait_seconds=min(MAX_SERVER_WAIT, timeout) if wait else 0,
    )


MAX_SERVER_WAIT = 25.0  # the API's own cap on wait_seconds (docs/limits.md)
