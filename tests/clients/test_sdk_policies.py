"""Generation policies through the SDK (sync and async) and the CLI, against the live local server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from contextiq.cli import main
from contextiq_sdk import AsyncClient, Client, PreconditionFailedError
from contextiq_sdk import models as m
from tests.e2e.conftest import Server

from .conftest import KEY_A


def test_sync_client_sets_policies_and_lists_a_sessions_jobs(live: Server, uid: str) -> None:
    app = f"app-{uid}"
    with Client(live.url, KEY_A) as c:
        put = c.generation_policies.put(
            app, every_n_events=2, scope_template={"user_id": "{user_id}", "app": "{app_name}"}
        )
        assert put.version == 1 and put.every_n_events == 2
        with pytest.raises(PreconditionFailedError):
            c.generation_policies.put(app, {"every_n_events": 3}, version=9)
        assert c.generation_policies.get(app).scope_template == {"user_id": "{user_id}", "app": "{app_name}"}
        assert app in [p.app_name for p in c.generation_policies.iter()]
        session = c.sessions.create(uid, app)
        for text in ("I am vegetarian.", "I live in Oslo."):
            c.events.append(session.id, "user", text)
        deadline = time.monotonic() + 60
        while not (jobs := c.generation_policies.jobs(session.id).items) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [j.trigger for j in jobs] == ["every_n_events"] and jobs[0].session_id == session.id
        assert c.jobs.wait(jobs[0].id, timeout=60).scope == {"user_id": uid, "app": app}
        own = c.generation_policies.set_for_session(session.id, m.GenerationPolicy(idle_seconds=30))
        assert own.generation_policy is not None and own.generation_policy.idle_seconds == 30
        cleared = c.generation_policies.set_for_session(session.id, None, version=own.version)
        assert cleared.generation_policy is None and cleared.last_generated_seq == 2
        c.generation_policies.delete(app)


def test_async_client_has_the_same_calls(live: Server, uid: str) -> None:
    async def go() -> None:
        app = f"async-{uid}"
        async with AsyncClient(live.url, KEY_A) as c:
            await c.generation_policies.put(app, idle_seconds=60, on_session_delete=True)
            page = await c.generation_policies.list(limit=100)
            assert app in [p.app_name for p in page.items]
            session = await c.sessions.create(uid, app)
            patched = await c.generation_policies.set_for_session(session.id, {"every_n_events": 50})
            assert patched.generation_policy is not None and patched.generation_policy.every_n_events == 50
            assert (await c.generation_policies.jobs(session.id)).items == []
            assert [p async for p in c.generation_policies.iter_jobs(session.id)] == []
            await c.generation_policies.delete(app)

    asyncio.run(go())


def test_cli_policies_and_jobs_list(live: Server, uid: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONTEXTIQ_URL", live.url)
    monkeypatch.setenv("CONTEXTIQ_API_KEY", KEY_A)

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    app = f"cli-{uid}"
    code, out, _ = cli("policies", "put", app, "--every-n-events", "1", "--scope-template", "user_id={user_id}")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["APP_NAME", "EVERY_N_EVENTS", "IDLE_SECONDS"]
    code, out, _ = cli("policies", "get", app, "--json")
    assert code == 0 and json.loads(out)["every_n_events"] == 1
    code, out, err = cli("policies", "put", app, "--every-n-events", "0")
    assert code == 1 and "every_n_events" in err
    code, out, _ = cli("sessions", "create", "--user-id", uid, "--app-name", app, "--json")
    sid = json.loads(out)["id"]
    assert cli("events", "append", sid, "--author", "user", "--text", "I like tea.")[0] == 0
    for _ in range(300):
        code, out, _ = cli("jobs", "list", "--session-id", sid, "--all", "--json")
        if json.loads(out):
            break
        time.sleep(0.2)
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = cli("policies", "session", sid, "--clear", "--json")
    assert code == 0 and json.loads(out)["generation_policy"] is None
    assert cli("policies", "delete", app)[0] == 0
    assert cli("policies", "get", app)[0] == 1


def test_sdk_turns_an_apps_event_indexing_off_and_on(live: Server, uid: str) -> None:
    """set_event_indexing keeps the rest of the app's policy; off removes the app's indexed turns."""
    app = f"noindex-{uid}"
    with Client(live.url, KEY_A) as c:
        c.generation_policies.put(app, idle_seconds=600)
        session = c.sessions.create(uid, app)
        c.events.append(session.id, "user", f"My locker code at the {uid} gym is 5512")

        def found() -> int:
            return len(c.events.search(uid, f"locker {uid}", app_name=app, mode="keyword").results)

        deadline = time.monotonic() + 60
        while not found() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found() == 1
        off = c.generation_policies.set_event_indexing(app, False)
        assert off.index_events is False and off.idle_seconds == 600 and off.version == 2
        deadline = time.monotonic() + 60
        while found() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found() == 0  # the indexer purged the app's turns

        async def back_on() -> m.AppGenerationPolicy:
            async with AsyncClient(live.url, KEY_A) as ac:
                return await ac.generation_policies.set_event_indexing(app, True)

        on = asyncio.run(back_on())
        assert on.index_events is True and on.idle_seconds == 600 and on.version == 3
        fresh = c.generation_policies.set_event_indexing(f"new-{uid}", False)  # no policy yet: one is made
        assert fresh.index_events is False and fresh.version == 1 and fresh.every_n_events is None
        c.generation_policies.delete(app)
        c.generation_policies.delete(f"new-{uid}")
