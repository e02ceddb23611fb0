"""Idempotency-Key on POSTs, through Powertools idempotency (DynamoDB-backed).

The record key is tenant + route + the client's key; the payload fingerprint is validated, so reusing a
key with a different body is refused (422) instead of replaying an unrelated answer. A second request
while the first is still running gets 409 (IETF draft-ietf-httpapi-idempotency-key-header).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from contextiq import limits
from contextiq.errors import ConflictError, FieldProblem, InvalidInputError

StoredResponse = dict[str, Any]  # {"status": int, "body": JSON, "headers": {...}}


class IdempotentRunner:
    def __init__(self, persistence: BasePersistenceLayer, expires_after_seconds: int) -> None:
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        self._config = config
        self._executed = threading.local()
        self._run = idempotent_function(
            data_keyword_argument="request",
            persistence_store=persistence,
            config=config,
            key_prefix="contextiq-api",
        )(self._invoke)

    def register_lambda_context(self, context: Any) -> None:
        """In Lambda: lets Powertools expire an in-progress record when the invocation times out."""
        self._config.register_lambda_context(context)

    def _invoke(self, request: dict[str, str], action: Callable[[], StoredResponse]) -> StoredResponse:
        self._executed.value = True
        return action()

    def run(
        self, tenant: str, route: str, key: str, payload: bytes, action: Callable[[], StoredResponse]
    ) -> tuple[StoredResponse, bool]:
        """Run ``action`` once per (tenant, route, key). Returns (response, replayed)."""
        if not key or len(key) > limits.MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidInputError(
                "Idempotency-Key must be 1-255 characters",
                [FieldProblem("header.Idempotency-Key", f"1 to {limits.MAX_IDEMPOTENCY_KEY_LENGTH} characters")],
            )
        request = {
            "key": f"{tenant}|{route}|{key}",
            "fingerprint": hashlib.sha256(payload).hexdigest(),
        }
        self._executed.value = False
        try:
            response = self._run(request=request, action=action)
        except IdempotencyValidationError as err:
            raise InvalidInputError(
                "this Idempotency-Key was already used with a different request body",
                [FieldProblem("header.Idempotency-Key", "reused with a different payload")],
            ) from err
        except IdempotencyAlreadyInProgressError as err:
            raise ConflictError("a request with this Idempotency-Key is still in progress; retry later") from err
        return response, not self._executed.value
