"""ContextIQ's Python SDK: ``Client`` / ``AsyncClient`` over the HTTP API (httpx + pydantic only)."""

from __future__ import annotations

__version__ = "0.1.0"

from contextiq_sdk.aclient import AsyncClient
from contextiq_sdk.client import Client
from contextiq_sdk.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContextIQError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    ServerError,
    WaitTimeoutError,
)
from contextiq_sdk.models import (
    Event,
    Job,
    JobStatus,
    Memory,
    Page,
    Revision,
    SearchResponse,
    SearchResult,
    Session,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContextIQError",
    "Event",
    "InvalidInputError",
    "Job",
    "JobStatus",
    "Memory",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "RateLimitedError",
    "Revision",
    "SearchResponse",
    "SearchResult",
    "ServerError",
    "Session",
    "WaitTimeoutError",
]
