"""Templates (and context assembly) through the SDK, sync and async, against the live local server."""

from __future__ import annotations

import asyncio

import pytest

from contextiq_sdk import AsyncClient, Client, InvalidInputError, NotFoundError, PreconditionFailedError
from tests.e2e.conftest import Server

from .conftest import KEY_A, KEY_B


def test_templates_sync(live: Server, uid: str) -> None:
    with Client(live.url, KEY_A) as sdk:
        t = sdk.templates.create(f"t-{uid}", "Hi {{ who }}", variables=[{"name": "who", "default": "you"}])
        assert t.version == 1 and t.variables[0].default == "you"
        changed = sdk.templates.update(t.id, body="Bye {{ who }}", version=1)
        with pytest.raises(PreconditionFailedError):
            sdk.templates.update(t.id, name="stale", version=1)
        assert sdk.templates.get(t.id, version=1).body == "Hi {{ who }}"
        assert sdk.templates.get(t.id).body == changed.body == "Bye {{ who }}"
        assert t.id in {x.id for x in sdk.templates.iter(page_size=50)}
        with pytest.raises(InvalidInputError) as bad:
            sdk.templates.create("bad", "line one\n{{ unknown_thing }}")
        assert "line 2" in str(bad.value.errors)
        with Client(live.url, KEY_B) as other, pytest.raises(NotFoundError):
            other.templates.get(t.id)
        sdk.templates.delete(t.id)
        assert [v.action for v in sdk.templates.versions(t.id).items] == ["CREATED", "UPDATED", "DELETED"]
        assert sdk.templates.get("default").builtin


def test_templates_async(live: Server, uid: str) -> None:
    async def run() -> None:
        async with AsyncClient(live.url, KEY_A) as sdk:
            t = await sdk.templates.create(f"a-{uid}", "{{ query }}")
            assert (await sdk.templates.update(t.id, name="renamed")).version == 2
            assert (await sdk.templates.get(t.id, version=1)).name == f"a-{uid}"
            assert len((await sdk.templates.versions(t.id)).items) == 2
            assert t.id in [x.id async for x in sdk.templates.iter()]
            await sdk.templates.delete(t.id, version=2)

    asyncio.run(run())


def test_context_sync_async_and_cli(
    live: Server, uid: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextiq_sdk.cli import main

    with Client(live.url, KEY_A) as sdk:
        session = sdk.sessions.create(uid)
        sdk.events.append(session.id, "user", "Please plan my trip to Kyoto")
        fact = sdk.memories.add({"user_id": uid}, "The user prefers window seats")
        out = sdk.assemble_context(300, session_id=session.id)
        assert out.query == "Please plan my trip to Kyoto" and out.scope == {"user_id": uid}
        assert [m.id for m in out.sections.memories] == [fact.id] and "window seats" in out.text
        assert out.token_estimate <= 300 and not out.truncated
        inline = sdk.assemble_context(50, scope={"user_id": uid}, query="seats", template="{{ memories|length }}")
        assert inline.text == "1" and inline.template.id == "inline"
        with pytest.raises(InvalidInputError):
            sdk.assemble_context(10, scope={"user_id": uid}, template="{{ nope }}")

    async def run() -> None:
        async with AsyncClient(live.url, KEY_A) as sdk:
            found = await sdk.assemble_context(300, session_id=session.id, memories=0)
            assert found.sections.memories == [] and found.sections.recent_events[0].text.endswith("Kyoto")

    asyncio.run(run())
    monkeypatch.setenv("CONTEXTIQ_URL", live.url)
    monkeypatch.setenv("CONTEXTIQ_API_KEY", KEY_A)
    assert main(["context", "--session-id", session.id, "--max-tokens", "300"]) == 0
    printed = capsys.readouterr().out
    assert "window seats" in printed and "template default v1" in printed
