"""The end of the current Lambda invocation, for code that must stop before it (retries, job guards).

Each handler calls :func:`start` with its Lambda context; :func:`remaining` then answers how many
seconds are left. Outside Lambda (local runtime, tests) nothing starts a deadline and ``remaining()``
is ``None``: no bound. A module global rather than a ContextVar on purpose: a Lambda process runs one
invocation at a time, and the embedder's worker threads must see the same deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


_end: float | None = None
_clock: Clock = time.monotonic


def start(context: HasRemainingTime | None, clock: Clock = time.monotonic) -> None:
    """Record the invocation's end from ``context`` (``None``: no deadline)."""
    global _end, _clock
    _clock = clock
    millis = getattr(context, "get_remaining_time_in_millis", None)
    _end = clock() + millis() / 1000 if callable(millis) else None


def clear() -> None:
    global _end
    _end = None


def remaining() -> float | None:
    """Seconds left in the current invocation, or ``None`` when there is no deadline."""
    return None if _end is None else max(0.0, _end - _clock())


class TimeoutGuard:
    """Run ``on_timeout`` (once, on a daemon thread) ``margin`` seconds before the invocation ends,
    unless the ``with`` block finishes first. No deadline (local runtime, tests): never fires.

    Lambda stops a timed-out invocation without running ``finally`` blocks or ``except`` handlers, so
    code that must record a failure (a job marked FAILED with its reason) has to run before the end.
    """

    def __init__(self, on_timeout: Callable[[], None], margin: float = 3.0) -> None:
        self._on_timeout = on_timeout
        self._margin = margin
        self._timer: threading.Timer | None = None
        self.fired = False

    def _fire(self) -> None:
        self.fired = True
        self._on_timeout()

    def __enter__(self) -> TimeoutGuard:
        left = remaining()
        if left is not None:
            self._timer = threading.Timer(max(0.0, left - self._margin), self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
