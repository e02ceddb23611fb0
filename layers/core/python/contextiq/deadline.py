"""The end of the current Lambda invocation, for code that must stop before it (retries, job guards).

Each handler calls :func:`start` with its Lambda context; :func:`remaining` then answers how many
seconds are left. Outside Lambda (local runtime, tests) nothing starts a deadline and ``remaining()``
is ``None``: no bound. A module global rather than a ContextVar on purpose: a Lambda process runs one
invocation at a time, and the embedder's worker threads must see the same deadline.
"""

from __future__ import annotations

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
