"""Batch calls resend what DynamoDB left unprocessed, after a growing pause, a bounded number of times."""

from __future__ import annotations

from typing import Any

import pytest

from contextiq.stores.dynamo import base
from contextiq.stores.dynamo.base import PageTokens
from contextiq.stores.dynamo.memories import MemoryStore
from contextiq.stores.dynamo.sessions import SessionStore
from tests.fakes import Sleeps


class ThrottledClient:
    """Leaves the first ``throttled`` calls' requests unprocessed."""

    def __init__(self, throttled: int) -> None:
        self.throttled = throttled
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.calls += 1
        return {"UnprocessedItems": RequestItems if self.calls <= self.throttled else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        if self.calls <= self.throttled:
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        return {"Responses": {"t": []}, "UnprocessedKeys": {}}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    recorded = Sleeps()
    monkeypatch.setattr(base, "batch_sleep", recorded)
    return recorded


def test_unprocessed_deletes_are_resent_after_a_pause(sleeps: Sleeps) -> None:
    client = ThrottledClient(throttled=2)
    SessionStore(client, "t", PageTokens(b"k" * 32))._batch_delete([{"pk": {"S": "a"}, "sk": {"S": "b"}}])  # type: ignore[arg-type]
    assert client.calls == 3 and len(sleeps) == 2 and all(0 <= s <= base.BATCH_BACKOFF.cap for s in sleeps)


def test_deletes_that_stay_unprocessed_end_in_an_error(sleeps: Sleeps) -> None:
    client = ThrottledClient(throttled=100)
    with pytest.raises(RuntimeError, match="unprocessed deletes"):
        SessionStore(client, "t", PageTokens(b"k" * 32))._batch_delete([{"pk": {"S": "a"}, "sk": {"S": "b"}}])  # type: ignore[arg-type]
    assert client.calls == base.BATCH_ATTEMPTS and len(sleeps) == base.BATCH_ATTEMPTS - 1


def test_unprocessed_reads_are_resent_after_a_pause(sleeps: Sleeps) -> None:
    client = ThrottledClient(throttled=1)
    assert MemoryStore(client, "t", PageTokens(b"k" * 32)).get_many("tenant", ["m1"]) == {}
    assert client.calls == 2 and len(sleeps) == 1
