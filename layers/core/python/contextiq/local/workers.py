"""Queue pollers for the local runtime: receive from moto SQS and call the same Lambda handlers."""

from __future__ import annotations

import threading


def start_workers(stop: threading.Event) -> list[threading.Thread]:
    """Start one poller per worker function. (Generation workers are registered in a later slice.)"""
    return []
