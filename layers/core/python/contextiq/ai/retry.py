"""One retry policy for the Bedrock clients, bounded by the time left in the Lambda invocation.

The botocore clients are built with retries off (``total_max_attempts=1``, see ``client_config``), so
this is the only retry layer: no multiplication of botocore attempts by hand-written ones. A retry is
attempted only when the backoff delay plus one more call still fits in the invocation, minus
``reserve_seconds`` left for the caller to record a failure (mark a job FAILED, answer problem+json).
Backoff is ``contextiq.retry.Backoff`` with full jitter; what this adds is the deadline bound and the
Bedrock error classification.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from contextiq import deadline
from contextiq.retry import Backoff

T = TypeVar("T")
Sleep = Callable[[float], None]

# Bedrock runtime errors worth another attempt: throttling and transient unavailability.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ModelNotReadyException",
        "InternalServerException",
        "ModelTimeoutException",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    # Time one more call is expected to need, and time kept for the caller after giving up.
    attempt_seconds: float = 2.0
    reserve_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Full jitter before retry number ``retry`` (0-based): uniform in [0, min(max, base * 2**retry)],
        the formula of the package's one backoff helper (``contextiq.retry.Backoff``)."""
        return Backoff(base=self.base_delay, cap=self.max_delay).delay(retry, rng)


class RetriesExhaustedError(RuntimeError):
    """The call kept failing with a retryable error until the attempts or the invocation ran out."""

    def __init__(self, message: str, code: str, attempts: int) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def call_with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
    remaining: Callable[[], float | None] = deadline.remaining,
) -> T:
    """``call()``; retry a retryable ClientError per ``policy`` while the invocation has time left.

    A non-retryable ClientError propagates unchanged; running out raises :class:`RetriesExhaustedError`.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except ClientError as exc:
            code = error_code(exc)
            if code not in RETRYABLE_ERROR_CODES:
                raise
            pause = policy.delay(attempt - 1, rng)
            left = remaining()
            if attempt >= policy.max_attempts:
                reason = f"{attempt} attempts (max_attempts={policy.max_attempts})"
            elif left is not None and left - policy.reserve_seconds < pause + policy.attempt_seconds:
                reason = f"{attempt} attempts; {left:.1f}s left in the invocation is too little for another"
            else:
                sleep(pause)
                continue
            raise RetriesExhaustedError(f"{what} failed with {code} after {reason}", code, attempt) from exc


def client_config(*, read_timeout: float, connect_timeout: float = 5, max_pool_connections: int = 10) -> Any:
    """A botocore Config with botocore's own retries off: :func:`call_with_retries` is the one policy."""
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
    )
