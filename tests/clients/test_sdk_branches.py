"""Checkpoints and forks through the SDK (sync and async) and the CLI, against the live local server."""

from __future__ import annotations

import asyncio
import json

import pytest

from contextiq.cli import main
from contextiq_sdk import AsyncClient, Client, InvalidInputError, NotFoundError
from tests.e2e.conftest import Server

from .conftest import KEY_A, KEY_B


def test_sync_checkpoint_and_fork(live: Server, uid: str) -> None:
    with Client(live.url, KEY_A) as c:
        session = c.sessions.create(uid, state={"n": 0})
        c.events.append(session.id, "user", "one", state_delta={"n": 1})
        cp = c.sessions.checkpoint(session.id, "first", metadata={"k": 1})
        assert (cp.seq, cp.state, cp.name) == (1, {"n": 1}, "first")
        c.events.append(session.id, "user", "two", state_delta={"n": 2})
        assert [x.checkpoint_id for x in c.sessions.iter_checkpoints(session.id, page_size=1)] == [cp.checkpoint_id]
        assert c.sessions.get_checkpoint(session.id, cp.checkpoint_id) == cp
        fork = c.sessions.fork(session.id, checkpoint_id=cp.checkpoint_id, metadata={"b": 1})
        assert fork.state == {"n": 1} and fork.forked_from and fork.forked_from.checkpoint_id == cp.checkpoint_id
        events = c.events.list(fork.id).items
        assert [e.text for e in events] == ["one"] and events[0].source and events[0].source.session_id == session.id
        assert c.sessions.fork(session.id, at_seq=2).state == {"n": 2}
        with pytest.raises(InvalidInputError) as err:
            c.sessions.fork(session.id, at_seq=9)
        assert err.value.errors[0].field == "at_seq"
        c.sessions.delete_checkpoint(session.id, cp.checkpoint_id)
        with pytest.raises(NotFoundError):
            c.sessions.get_checkpoint(session.id, cp.checkpoint_id)
    with Client(live.url, KEY_B) as other, pytest.raises(NotFoundError):
        other.sessions.fork(session.id, at_seq=1)


def test_async_checkpoint_and_fork(live: Server, uid: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(live.url, KEY_A) as c:
            session = await c.sessions.create(uid)
            await c.events.append(session.id, "user", "hello", state_delta={"x": 1})
            cp = await c.sessions.checkpoint(session.id)
            assert [x.checkpoint_id async for x in c.sessions.iter_checkpoints(session.id)] == [cp.checkpoint_id]
            assert (await c.sessions.get_checkpoint(session.id, cp.checkpoint_id)).state == {"x": 1}
            assert (await c.sessions.list_checkpoints(session.id)).items == [cp]
            fork = await c.sessions.fork(session.id, at_seq=1, ttl_seconds=3600)
            assert fork.state == {"x": 1} and fork.expire_time is not None
            await c.sessions.delete_checkpoint(session.id, cp.checkpoint_id)

    asyncio.run(scenario())


def test_cli_checkpoint_and_fork(live: Server, uid: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("CONTEXTIQ_URL", live.url)
    monkeypatch.setenv("CONTEXTIQ_API_KEY", KEY_A)
    with Client(live.url, KEY_A) as c:
        sid = c.sessions.create(uid).id
        c.events.append(sid, "user", "hi", state_delta={"a": 1})
    assert main(["sessions", "checkpoint", sid, "--name", "cli", "--json"]) == 0
    cp = json.loads(capsys.readouterr().out)
    assert main(["sessions", "checkpoints", sid]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:2] == ["CHECKPOINT_ID", "NAME"] and cp["checkpoint_id"] in table
    assert main(["sessions", "fork", sid, "--checkpoint-id", cp["checkpoint_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == {"a": 1}
    assert main(["sessions", "fork", sid, "--at-seq", "5"]) != 0
    assert "at_seq" in capsys.readouterr().err
