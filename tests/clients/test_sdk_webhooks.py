"""Webhooks through the SDK (sync and async) and the CLI, against the live local server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from standardwebhooks import Webhook as Verifier

from contextiq.cli import main
from contextiq_sdk import AsyncClient, Client, InvalidInputError, NotFoundError
from tests.e2e.conftest import Server
from tests.webhook_receiver import Receiver

from .conftest import KEY_A, KEY_B


def _delivered(sdk: Client, hook_id: str, memory_id: str, timeout: float = 60.0) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [d for d in sdk.webhooks.iter_deliveries(hook_id) if d.resource_id == memory_id]
        if done and done[0].status.value == "DELIVERED":
            return done
        time.sleep(0.3)
    return []


def test_sync_client(live: Server, uid: str) -> None:
    receiver = Receiver().start()
    try:
        with Client(live.url, KEY_A) as sdk:
            hook = sdk.webhooks.create(receiver.url, ["memory.created"])
            assert hook.secret.startswith("whsec_") and hook.events == ["memory.created"]
            assert sdk.webhooks.get(hook.id).url == receiver.url
            assert hook.id in [h.id for h in sdk.webhooks.list().items]
            memory = sdk.memories.add({"user_id": uid}, "likes webhooks")
            (delivery,) = _delivered(sdk, hook.id, memory.id)
            assert (delivery.event_type, delivery.version, delivery.attempts) == ("memory.created", 1, 1)
            (got,) = [r for r in receiver.delivered() if r.event["resource_id"] == memory.id]
            assert Verifier(hook.secret).verify(got.body, got.headers)["id"] == delivery.id
            with pytest.raises(InvalidInputError) as bad:
                sdk.webhooks.create("ftp://example.com/x")
            assert bad.value.errors[0].field == "url"
            with Client(live.url, KEY_B) as other, pytest.raises(NotFoundError):
                other.webhooks.get(hook.id)
            sdk.webhooks.delete(hook.id)
            with pytest.raises(NotFoundError):
                sdk.webhooks.get(hook.id)
    finally:
        receiver.stop()


def test_async_client(live: Server) -> None:
    async def scenario() -> None:
        async with AsyncClient(live.url, KEY_A) as sdk:
            hook = await sdk.webhooks.create("http://127.0.0.1:9/nowhere", ["job.failed", "job.succeeded"])
            assert (await sdk.webhooks.get(hook.id)).events == ["job.failed", "job.succeeded"]
            assert hook.id in [h.id for h in (await sdk.webhooks.list()).items]
            assert [d async for d in sdk.webhooks.iter_deliveries(hook.id)] == []
            assert (await sdk.webhooks.deliveries(hook.id, limit=5)).items == []
            await sdk.webhooks.delete(hook.id)

    asyncio.run(scenario())


def test_cli(live: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXTIQ_URL", live.url)
    monkeypatch.setenv("CONTEXTIQ_API_KEY", KEY_A)

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = cli("webhooks", "create", "http://127.0.0.1:9/x", "--event", "memory.deleted", "--json")
    hook = json.loads(out)
    assert code == 0 and hook["secret"].startswith("whsec_")
    code, out, _ = cli("webhooks", "list")
    assert code == 0 and out.splitlines()[0].split() == ["ID", "URL", "EVENTS"] and hook["id"] in out
    assert "whsec_" not in out
    code, out, _ = cli("webhooks", "deliveries", hook["id"], "--all")
    assert code == 0 and out.strip() == "(none)"
    code, _, err = cli("webhooks", "create", "http://127.0.0.1:9/x", "--event", "memory.exploded")
    assert code == 1 and "events.0" in err
    assert cli("webhooks", "delete", hook["id"])[0] == 0
    code, _, err = cli("webhooks", "get", hook["id"])
    assert code == 1 and "404" in err
