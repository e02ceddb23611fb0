"""Make moto's DynamoDB as atomic as the real one.

Real DynamoDB applies each request (a conditional write, a transaction) atomically. moto evaluates
conditions and applies writes in Python without a lock, so concurrent requests from the local
server's threads can interleave inside one request (and its transaction snapshot can even crash with
"dictionary changed size during iteration"). Serialising moto's DynamoDB request handling restores
per-request atomicity; requests are fast in memory, so throughput stays far above what a laptop sends.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()


def serialize_dynamodb_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_contextiq_serialized", False):
        return
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler._contextiq_serialized = True  # type: ignore[attr-defined]
