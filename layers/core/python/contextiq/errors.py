"""Domain errors. The API layer maps each ``code`` to an HTTP status and an RFC 9457 problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str  # dotted path in the request, e.g. "content.text" or "query.limit"
    message: str


class ContextIQError(Exception):
    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str, errors: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFoundError(ContextIQError):
    code = "not-found"
    title = "Not found"


class ConflictError(ContextIQError):
    code = "conflict"
    title = "Conflict"


class PreconditionFailedError(ContextIQError):
    code = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLargeError(ContextIQError):
    code = "payload-too-large"
    title = "Payload too large"


class InvalidInputError(ContextIQError):
    code = "invalid-input"
    title = "Invalid input"


class ForbiddenError(ContextIQError):
    code = "forbidden"
    title = "Forbidden"


class VersionConflictError(ConflictError):
    """A conditional write lost a race: the stored version is not the one the writer read."""
