"""One way to retry: capped exponential backoff with jitter, between numbered attempts.

    for attempt in attempts(MAX, BACKOFF, sleep):
        try: return write()
        except VersionConflictError: continue       # lost a race: try again after a pause
    raise ConflictError(...)                         # every attempt lost

Hand-written rather than a library (tenacity, backoff) because the loops that use it decide per failure
whether to retry, turn some failures into a different error (a stale If-Match is a 412, not a retry),
and take an injectable ``sleep`` so unit tests run instantly; a ten-line generator does all three.
AWS calls themselves are retried by botocore's "standard" mode (``container._BOTO_CONFIG``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Before retry ``n`` (0-based) wait uniformly in [floor * c, c], c = min(cap, base * 2**n).

    ``floor=0`` is "full jitter", ``floor=0.5`` "equal jitter" (AWS Architecture Blog, "Exponential
    Backoff And Jitter").
    """

    base: float
    cap: float
    floor: float = 0.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(retry, 64))
        low = ceiling * self.floor
        return rng.uniform(low, ceiling) if rng else random.uniform(low, ceiling)


def attempts(
    count: int, backoff: Backoff, sleep: Callable[[float], None], rng: random.Random | None = None
) -> Iterator[int]:
    """Yield 0 .. count-1, sleeping ``backoff.delay(n)`` before attempt n + 1 (never after the last)."""
    for attempt in range(count):
        if attempt:
            sleep(backoff.delay(attempt - 1, rng))
        yield attempt
