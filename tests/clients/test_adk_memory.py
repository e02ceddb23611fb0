"""ContextIQMemoryService against Google ADK's real session and memory types, on the live local server."""

from __future__ import annotations

import asyncio

import pytest
from google.adk.events.event import Event
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.sessions import InMemorySessionService
from google.genai import types

from contextiq_sdk import AsyncClient
from contextiq_sdk.adk import ContextIQMemoryService
from tests.e2e.conftest import Server

from .conftest import KEY_A


def _turn(author: str, role: str, text: str) -> Event:
    return Event(invocation_id="inv-1", author=author, content=types.Content(role=role, parts=[types.Part(text=text)]))


def test_sessions_become_searchable_memories(live: Server, uid: str) -> None:
    async def scenario() -> None:
        sessions = InMemorySessionService()
        memory = ContextIQMemoryService(AsyncClient(live.url, KEY_A))
        session = await sessions.create_session(app_name="travel", user_id=uid)
        for event in (
            _turn("user", "user", "Hi, I am vegetarian and I live in Lyon."),
            _turn("planner", "model", "Great, I will remember that."),
        ):
            await sessions.append_event(session, event)

        await memory.add_session_to_memory(session)
        await memory.add_session_to_memory(session)  # adding it again does not duplicate facts
        found = await memory.search_memory(app_name="travel", user_id=uid, query="where does the user live?")
        facts = [entry.content.parts[0].text for entry in found.memories]
        assert any("Lyon" in f for f in facts)
        assert len(facts) == len(set(facts))
        assert all(entry.id and entry.timestamp for entry in found.memories)

        other_app = await memory.search_memory(app_name="other", user_id=uid, query="where does the user live?")
        assert other_app.memories == []  # (app_name, user_id) is the scope

        await memory.add_memory(
            app_name="travel",
            user_id=uid,
            memories=[MemoryEntry(content=types.Content(parts=[types.Part(text="Prefers night trains")]))],
        )
        trains = await memory.search_memory(app_name="travel", user_id=uid, query="night trains")
        assert trains.memories[0].content.parts[0].text == "Prefers night trains"

        target = trains.memories[0].id
        with pytest.raises(ValueError, match="does not belong"):
            await memory.delete_memory(app_name="travel", user_id=uid + "-x", memory_id=target)
        await memory.delete_memory(app_name="travel", user_id=uid, memory_id=target)
        after = await memory.search_memory(app_name="travel", user_id=uid, query="night trains")
        assert target not in {e.id for e in after.memories}

    asyncio.run(scenario())
