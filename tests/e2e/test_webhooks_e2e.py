"""Webhooks over real HTTP against `contextiq local`: a receiver (threaded http.server) gets
`memory.created` with a valid signature, through the local stream poller -> functions/notifier ->
the FIFO delivery queue -> functions/webhook_delivery, the cloud's path."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook as Verifier

from tests.e2e.conftest import KEY_B, Server
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _until(check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_a_receiver_gets_memory_created_signed(server: Server) -> None:
    receiver = Receiver().start()
    try:
        with server.client() as c:
            created = c.post("/v1/webhooks", json={"url": receiver.url, "events": ["memory.created"]})
            assert created.status_code == 201, created.text
            hook = created.json()
            memory = c.post("/v1/memories", json={"fact": "Eve plays the cello", "scope": {"user_id": "e2e-hook"}})
            assert memory.status_code == 201, memory.text

            got = _until(receiver.delivered)
            assert got, "no delivery within 60 s"
            event = Verifier(hook["secret"]).verify(got[0].body, got[0].headers)  # raises on a bad signature
            assert event["type"] == "memory.created" and event["resource_id"] == memory.json()["id"]
            assert event["tenant"] == "tenant-a" and event["version"] == 1
            assert event["data"]["fact"] == "Eve plays the cello"

            log = _until(lambda: [d for d in c.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
                                  if d["status"] == "DELIVERED"])  # fmt: skip
            assert [d["id"] for d in log] == [event["id"]]
        with server.client(KEY_B) as b:
            assert b.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    finally:
        receiver.stop()
