"""Typed exceptions. Every error the API answers is RFC 9457 problem+json; its fields are on the exception."""

from __future__ import annotations

from typing import Any

import httpx

from contextiq_sdk.models import FieldError, Job, Problem


class ContextIQError(Exception):
    """Base of every error this SDK raises."""


class ConfigurationError(ContextIQError):
    """No URL or API key was given, found in the environment, or in a running local server's state."""


class APIConnectionError(ContextIQError):
    """The server could not be reached (after the retries)."""


class WaitTimeoutError(ContextIQError, TimeoutError):
    """A job did not finish within the time given to ``wait()``; ``job`` is its last known state."""

    def __init__(self, job: Job, timeout: float) -> None:
        super().__init__(f"job {job.id} is still {job.status.value} after {timeout:g} s")
        self.job = job


class APIError(ContextIQError):
    """An error answer: ``status``, ``type``, ``title``, ``detail``, ``instance`` and field ``errors``."""

    def __init__(self, problem: Problem, response: httpx.Response | None = None) -> None:
        fields = "; ".join(f"{e.field}: {e.message}" for e in problem.errors)
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}" + (f" ({fields})" if fields else ""))
        self.problem = problem
        self.response = response

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def type(self) -> str:
        return self.problem.type

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def instance(self) -> str | None:
        return self.problem.instance

    @property
    def errors(self) -> list[FieldError]:
        return self.problem.errors

    @property
    def retry_after(self) -> str | None:
        return self.response.headers.get("retry-after") if self.response is not None else None


class BadRequestError(APIError):
    """400: the request could not be read (e.g. the body is not JSON)."""


class AuthenticationError(APIError):
    """401 or 403: the API key is missing, unknown or not allowed."""


class NotFoundError(APIError):
    """404: no such resource for this tenant (another tenant's ids answer 404 too)."""


class ConflictError(APIError):
    """409: e.g. a request with the same Idempotency-Key is still in progress."""


class PreconditionFailedError(APIError):
    """412: ``version=`` (If-Match) is stale; read the resource again and retry."""


class PayloadTooLargeError(APIError):
    """413: a size limit of docs/limits.md was exceeded."""


class InvalidInputError(APIError):
    """422: a field is invalid; ``errors`` names each one and why."""


class RateLimitedError(APIError):
    """429: too many requests (retried automatically, honouring Retry-After, before this is raised)."""


class ServerError(APIError):
    """5xx (retried automatically before this is raised)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    422: InvalidInputError,
    429: RateLimitedError,
}


def error_for(response: httpx.Response) -> APIError:
    """The typed exception for an error answer (a non-problem body still gets a Problem)."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and {"type", "title", "status", "detail"} <= body.keys():
        problem = Problem.model_validate(body)
    else:
        text = body.get("message") if isinstance(body, dict) else None  # API Gateway's own errors
        problem = Problem(
            type="about:blank",
            title=response.reason_phrase or "HTTP error",
            status=response.status_code,
            detail=str(text or response.text[:500] or response.reason_phrase),
        )
    cls = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else APIError)
    return cls(problem, response)
