"""A Google ADK ``BaseMemoryService`` on ContextIQ (``pip install 'contextiq-sdk[adk]'``).

ADK's (app_name, user_id) is the ContextIQ scope ``{"app_name": ..., "user_id": ...}``.
``add_session_to_memory`` and ``add_events_to_memory`` send the text turns to memory generation (extraction +
consolidation, so adding a session again does not duplicate facts); ``search_memory`` is ContextIQ's hybrid
search; ``add_memory`` stores facts as given; ``delete_memory`` deletes one memory by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.adk.memory.base_memory_service import BaseMemoryService, SearchMemoryResponse
from google.adk.memory.memory_entry import MemoryEntry
from google.genai import types

from contextiq_sdk.aclient import AsyncClient

if TYPE_CHECKING:
    from google.adk.events.event import Event
    from google.adk.sessions.session import Session

MAX_EVENTS_PER_JOB = 500  # the API's limit on direct events in one generate request (docs/limits.md)


def _text(content: types.Content | None) -> str:
    if content is None or not content.parts:
        return ""
    return "\n".join(part.text for part in content.parts if part.text and not part.thought).strip()


class ContextIQMemoryService(BaseMemoryService):
    """ADK memory service backed by ContextIQ. ``wait`` makes adds return once the memories are stored."""

    def __init__(
        self, client: AsyncClient | None = None, *, top_k: int = 10, wait: bool = True, timeout: float = 120.0
    ) -> None:
        self.client = client or AsyncClient()
        self.top_k, self.wait, self.timeout = top_k, wait, timeout

    @staticmethod
    def scope(app_name: str, user_id: str) -> dict[str, str]:
        return {"app_name": app_name, "user_id": user_id}

    async def add_session_to_memory(self, session: Session) -> None:
        await self.add_events_to_memory(
            app_name=session.app_name, user_id=session.user_id, events=session.events, session_id=session.id
        )

    async def add_events_to_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        events: Sequence[Event],
        session_id: str | None = None,
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        turns: list[dict[str, Any]] = []
        for event in events:
            text = _text(event.content)
            if text:
                role = event.content.role if event.content and event.content.role else None
                when = datetime.fromtimestamp(event.timestamp, UTC) if event.timestamp else None
                turns.append({"author": event.author or role or "user", "role": role, "text": text, "timestamp": when})
        scope = self.scope(app_name, user_id)
        for start in range(0, len(turns), MAX_EVENTS_PER_JOB):
            await self.client.memories.generate(
                events=turns[start : start + MAX_EVENTS_PER_JOB], scope=scope, wait=self.wait, timeout=self.timeout
            )

    async def add_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        memories: Sequence[MemoryEntry],
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        scope = self.scope(app_name, user_id)
        for entry in memories:
            text = _text(entry.content)
            if text:
                metadata = {k: v for k, v in entry.custom_metadata.items() if isinstance(k, str)}
                await self.client.memories.add(scope, text, metadata=metadata or None)

    async def search_memory(self, *, app_name: str, user_id: str, query: str) -> SearchMemoryResponse:
        found = await self.client.memories.search(self.scope(app_name, user_id), query, top_k=self.top_k)
        return SearchMemoryResponse(
            memories=[
                MemoryEntry(
                    id=hit.memory.id,
                    content=types.Content(role="user", parts=[types.Part(text=hit.memory.fact)]),
                    author="memory",
                    timestamp=hit.memory.event_time.isoformat(),
                    custom_metadata={"score": hit.score, "topics": hit.memory.topics},
                )
                for hit in found.results
            ]
        )

    async def delete_memory(self, *, app_name: str, user_id: str, memory_id: str | None = None) -> None:
        if memory_id is None:
            raise ValueError("memory_id is required")
        memory = await self.client.memories.get(memory_id)
        if memory.scope != self.scope(app_name, user_id):  # never delete another user's memory by id
            raise ValueError(f"memory {memory_id} does not belong to {app_name}/{user_id}")
        await self.client.memories.delete(memory_id, version=memory.version)
