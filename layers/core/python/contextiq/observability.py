"""Powertools logger, tracer and metrics, shared by every function and the local runtime.

Metrics go to namespace ``ContextIQ`` with a ``stage`` dimension. Locally (``contextiq local``)
``POWERTOOLS_METRICS_DISABLED`` and ``POWERTOOLS_TRACE_DISABLED`` are set, so nothing is flushed to stdout.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

Handler = TypeVar("Handler", bound=Callable[..., Any])
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "contextiq")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ContextIQ")

# A request that records no business metric is normal (GETs); Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(stage=os.environ.get("CONTEXTIQ_STAGE", "local"))


def _metrics_off() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")


def count(name: str, value: float = 1) -> None:
    """Add a business counter (EventsAppended, MemoriesAdded, ...)."""
    if value and not _metrics_off():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Record the block's duration in milliseconds as metric ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if not _metrics_off():
            metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=(time.perf_counter() - start) * 1000)


_cold_start = True


def with_lambda_context(handler: Handler) -> Handler:
    """Like ``logger.inject_lambda_context``, but the keys belong to this invocation's thread only.

    Powertools' decorator appends the Lambda context to keys shared by the whole process; locally one
    process runs the HTTP API and every worker in threads, so an API error was logged with a worker's
    ``function_name`` and ``job_id``. Thread-safe keys live in a context variable: each invocation (and
    each HTTP request, see ``request_log_context``) logs only its own.
    """

    @functools.wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> Any:
        global _cold_start
        keys: dict[str, Any] = {
            "function_name": context.function_name,
            "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn,
            "function_request_id": context.aws_request_id,
            "cold_start": _cold_start,
        }
        _cold_start = False
        request_id = (event.get("requestContext") or {}).get("requestId") if isinstance(event, dict) else None
        if request_id:
            keys["correlation_id"] = request_id
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**keys)
        try:
            return handler(event, context)
        finally:
            logger.thread_safe_clear_keys()

    return wrapped  # type: ignore[return-value]


def request_log_context(method: str, path: str, request_id: str | None) -> None:
    """Keys for every record logged while this HTTP request is served (its task and its threads)."""
    keys = {"http_method": method, "path": path}
    if request_id:
        keys["correlation_id"] = request_id
    logger.thread_safe_append_keys(**keys)
