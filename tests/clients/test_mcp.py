"""`contextiq mcp` over stdio, driven by the official `mcp` client library, against the live local server."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from contextiq_sdk import Client as ContextIQ
from tests.e2e.conftest import Server

from .conftest import KEY_A


def _payload(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(result.content[0].text)


def test_tools_and_resources_over_stdio(live: Server, client_env: dict[str, str], uid: str) -> None:
    with ContextIQ(live.url, KEY_A) as sdk:
        session = sdk.sessions.create(uid)

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "contextiq.cli", "mcp", "--scope", f"user_id={uid}"], env=client_env
    )

    async def scenario() -> None:
        async with Client(params, read_timeout_seconds=120) as mcp:
            tools = {t.name: t for t in (await mcp.list_tools()).tools}
            assert set(tools) >= {
                "remember",
                "recall",
                "forget",
                "list_memories",
                "generate_memories",
                "append_event",
                "search_procedures",
                "get_context",
            }
            remember = tools["remember"].input_schema
            assert remember["required"] == ["fact"] and "description" in remember["properties"]["fact"]
            assert tools["recall"].description and "natural-language" in tools["recall"].description

            stored = _payload(await mcp.call_tool("remember", {"fact": "Alice is allergic to cats"}))
            other = _payload(
                await mcp.call_tool("remember", {"fact": "Bob likes cats", "scope": {"user_id": uid + "-b"}})
            )
            found = _payload(await mcp.call_tool("recall", {"query": "allergic to cats", "sources": ["memory"]}))
            assert [r["id"] for r in found["results"]] == [stored["id"]]  # default scope only

            await mcp.call_tool("append_event", {"session_id": session.id, "text": "I am vegetarian.", "role": "user"})
            job = _payload(await mcp.call_tool("generate_memories", {"session_id": session.id}))
            assert job["status"] == "SUCCEEDED" and job["result"]["added"] >= 1
            job = _payload(
                await mcp.call_tool("generate_memories", {"messages": [{"role": "user", "text": "I live in Madrid."}]})
            )
            assert job["status"] == "SUCCEEDED"

            for _ in range(200):  # events reach recall once the stream has indexed them
                fused = _payload(await mcp.call_tool("recall", {"query": "vegetarian", "sources": ["event"]}))
                if "event" in {r["type"] for r in fused["results"]}:
                    break
                await asyncio.sleep(0.3)
            event = next(r for r in fused["results"] if r["type"] == "event")
            assert (event["session_id"], event["text"]) == (session.id, "I am vegetarian.")

            listed = _payload(await mcp.call_tool("list_memories", {"limit": 100}))
            facts = {m["fact"] for m in listed["items"]}
            assert "Alice is allergic to cats" in facts and any("Madrid" in f for f in facts)

            events = await mcp.read_resource(f"contextiq://sessions/{session.id}/events")
            assert json.loads(events.contents[0].text)[0]["content"]["text"] == "I am vegetarian."
            memories = await mcp.read_resource(f"contextiq://memories/user_id={uid}-b")
            assert [m["id"] for m in json.loads(memories.contents[0].text)] == [other["id"]]
            default = await mcp.read_resource("contextiq://memories")
            assert len(json.loads(default.contents[0].text)) == len(listed["items"])

            with ContextIQ(live.url, KEY_A) as sdk:
                steps = [{"instruction": "Open the booking site"}, {"instruction": "Pay"}]
                proc = sdk.procedures.create({"user_id": uid}, "workflow", "Book a train", "booking trains", steps)
            procs = _payload(await mcp.call_tool("search_procedures", {"query": "book a train"}))
            assert procs["results"][0]["id"] == proc.id and len(procs["results"][0]["steps"]) == 2
            context = _payload(await mcp.call_tool("get_context", {"query": "book a train", "max_tokens": 400}))
            assert proc.id in context["sources"]["procedures"] and "1. Open the booking site" in context["text"]
            assert context["token_estimate"] <= 400 and context["template"] == {"id": "default", "version": 1}

            assert "forgot" in str(_payload(await mcp.call_tool("forget", {"memory_id": stored["id"]})))
            missing = await mcp.call_tool("forget", {"memory_id": stored["id"]})
            assert missing.is_error and "404" in missing.content[0].text
            bad = await mcp.call_tool("generate_memories", {})
            assert bad.is_error and "exactly one" in bad.content[0].text

    asyncio.run(scenario())


def test_streamable_http(live: Server, client_env: dict[str, str], uid: str) -> None:
    import subprocess
    import time

    import httpx

    from contextiq.local.runtime import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "contextiq.cli", "mcp", "--http", str(port), "--scope", f"user_id={uid}"]
    proc = subprocess.Popen(cmd, env=client_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)

        async def scenario() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as mcp:
                stored = _payload(await mcp.call_tool("remember", {"fact": "prefers tea over coffee"}))
                found = _payload(await mcp.call_tool("recall", {"query": "tea or coffee"}))
                assert found["results"][0]["id"] == stored["id"]

        asyncio.run(scenario())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
