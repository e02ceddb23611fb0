"""Powertools logger, tracer and metrics, shared by every function and the local runtime.

Metrics go to namespace ``ContextIQ`` with a ``stage`` dimension. Locally (``contextiq local``)
``POWERTOOLS_METRICS_DISABLED`` and ``POWERTOOLS_TRACE_DISABLED`` are set, so nothing is flushed to stdout.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

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
