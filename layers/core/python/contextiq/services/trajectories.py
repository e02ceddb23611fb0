"""Trajectories: record what an agent did (inline steps, or a session's events) and find them by task.

From a session (docs/procedures.md, "Trajectories from sessions"):

* user turns (role or author ``user``) are not steps; the first one's text is the default task;
* a content part holding a tool call (``function_call``/``functionCall``/``tool_call``/``toolUse`` with a
  ``name`` and ``args``/``arguments``/``input``) starts a step with that tool; the event's text is its thought;
* a tool result part (``function_response``/``functionResponse``/``tool_result``/``toolResult``), or an
  event with role ``tool``, is the observation of the latest step of that tool still without one;
* other agent text is a thought-only step.

Each step keeps the ids of the events it came from, and so does the trajectory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from contextiq import limits
from contextiq.ai.embedders.base import Embedder
from contextiq.errors import FieldProblem, InvalidInputError, NotFoundError, PayloadTooLargeError
from contextiq.ids import epoch, new_id, utcnow
from contextiq.models.common import json_size
from contextiq.models.memories import scope_key
from contextiq.models.sessions import Event
from contextiq.models.trajectories import (
    Trajectory,
    TrajectoryCreate,
    TrajectorySearchRequest,
    TrajectorySearchResponse,
    TrajectorySearchResult,
    TrajectoryStep,
)
from contextiq.observability import count
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.trajectories import TRAJECTORY_VERSION, StoredTrajectory, TrajectoryStore
from contextiq.stores.vector.base import Condition, IndexedMemory, SearchQuery, VectorIndex

CALL_KEYS = ("function_call", "functionCall", "tool_call", "toolUse")
RESULT_KEYS = ("function_response", "functionResponse", "tool_result", "toolResult")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.strip()[: limits.MAX_STEP_TEXT_CHARS]


def _is_user(event: Event) -> bool:
    return (event.role or "").lower() == "user" or (event.role is None and event.author.lower() == "user")


def _texts(event: Event) -> list[str]:
    content = event.content
    out = [content["text"]] if isinstance(content.get("text"), str) else []
    out += [p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return [t.strip() for t in out if t.strip()]


def _first(part: dict[str, Any], keys: Sequence[str]) -> dict[str, Any] | None:
    for key in keys:
        if isinstance(part.get(key), dict):
            value: dict[str, Any] = part[key]
            return value
    return None


def steps_from_events(events: Sequence[Event]) -> tuple[str | None, list[TrajectoryStep]]:
    """(first user text, steps) of a session window, by the rules in the module docstring."""
    task: str | None = None
    steps: list[TrajectoryStep] = []

    def observe(tool: str | None, observation: str, event_id: str) -> None:
        for step in reversed(steps):
            if step.tool and step.observation is None and (tool is None or step.tool == tool):
                step.observation = observation or "(empty result)"
                step.event_ids.append(event_id)
                return
        steps.append(TrajectoryStep(observation=observation or "(empty result)", event_ids=[event_id]))

    for event in events:
        texts = _texts(event)
        if _is_user(event):
            task = task or (" ".join(texts) or None)
            continue
        parts = [p for p in event.content.get("parts") or [] if isinstance(p, dict)]
        calls = [c for p in parts if (c := _first(p, CALL_KEYS)) and isinstance(c.get("name"), str)]
        results = [r for p in parts if (r := _first(p, RESULT_KEYS))]
        if (event.role or "").lower() == "tool" and not results and texts:
            observe(None, _text(" ".join(texts)), event.id)
            continue
        thought = _text(" ".join(texts)) if texts else None
        for n, call in enumerate(calls):
            args = next((call[k] for k in ("args", "arguments", "input") if isinstance(call.get(k), dict)), None)
            steps.append(
                TrajectoryStep(
                    thought=thought if n == 0 else None,
                    tool=call["name"][: limits.MAX_ID_LENGTH],
                    arguments=args,
                    event_ids=[event.id],
                )
            )
        for result in results:
            name = result.get("name") if isinstance(result.get("name"), str) else None
            value = next((result[k] for k in ("response", "content", "output", "result") if k in result), result)
            observe(name, _text(value), event.id)
        if not calls and not results and thought:
            steps.append(TrajectoryStep(thought=thought, event_ids=[event.id]))
    return task, steps


def indexed_trajectory(stored: StoredTrajectory) -> IndexedMemory:
    t = stored.trajectory
    assert stored.vector is not None
    return IndexedMemory(
        tenant=stored.tenant,
        memory_id=t.id,
        scope_key=scope_key(t.scope),
        fact=t.task,
        topics=(),
        attrs={"outcome": (t.outcome.status,)},
        kind="trajectory",
        vector=stored.vector,
        version=TRAJECTORY_VERSION,
        expire_at=epoch(t.expire_time) if t.expire_time else None,
    )


class TrajectoryService:
    def __init__(
        self,
        store: TrajectoryStore,
        sessions: SessionService,
        embedder: Embedder,
        index: VectorIndex,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._embedder = embedder
        self._index = index
        self._clock = clock

    def session_steps(
        self, tenant: str, session_id: str, after_seq: int | None, before_seq: int | None
    ) -> tuple[str | None, list[TrajectoryStep]]:
        events: list[Event] = []
        token = None
        while True:
            page, token = self._sessions.list_events(tenant, session_id, after_seq or 0, limits.MAX_PAGE_SIZE, token)
            events.extend(e for e in page if before_seq is None or e.seq < before_seq)
            if not token or (page and before_seq is not None and page[-1].seq >= before_seq):
                break
        return steps_from_events(events)

    def create(self, tenant: str, req: TrajectoryCreate, trajectory_id: str | None = None) -> Trajectory:
        steps: list[TrajectoryStep]
        if req.session_id is not None:
            _, steps = self.session_steps(tenant, req.session_id, req.after_seq, req.before_seq)
            if not steps:
                raise InvalidInputError(
                    "the session window holds no agent steps (tool calls, tool results or agent text)",
                    [FieldProblem("session_id", "no agent steps in this window")],
                )
            if len(steps) > limits.MAX_TRAJECTORY_STEPS:
                raise PayloadTooLargeError(
                    f"the session window has {len(steps)} steps; at most {limits.MAX_TRAJECTORY_STEPS}",
                    [FieldProblem("session_id", "too many steps: narrow it with after_seq / before_seq")],
                )
        else:
            steps = [TrajectoryStep(**s.model_dump()) for s in req.steps or []]
        now = self._clock()
        expire = (now + timedelta(seconds=req.ttl_seconds)).replace(microsecond=0) if req.ttl_seconds else None
        event_ids = list(dict.fromkeys(e for s in steps for e in s.event_ids))
        t = Trajectory(
            id=trajectory_id or new_id(),
            scope=req.scope,
            task=req.task,
            steps=steps,
            outcome=req.outcome,
            session_id=req.session_id,
            event_ids=event_ids,
            metadata=req.metadata,
            create_time=now,
            expire_time=expire,
        )
        size = json_size(t.model_dump(mode="json", include={"task", "steps", "outcome", "event_ids"}))
        if size > limits.MAX_TRAJECTORY_BYTES:
            raise PayloadTooLargeError(
                f"a trajectory's task, steps and outcome are limited to {limits.MAX_TRAJECTORY_BYTES} bytes of JSON",
                [FieldProblem("steps", f"too large ({size} bytes)")],
            )
        vector = self._embedder.embed([t.task])[0]
        self._store.put(tenant, t, vector, self._embedder.model_id)
        self._index.upsert([indexed_trajectory(StoredTrajectory(tenant, t, vector, self._embedder.model_id))])
        count("TrajectoriesAdded")
        return t

    def _live(self, stored: StoredTrajectory | None, now: datetime) -> Trajectory | None:
        if stored is None:
            return None
        expire = stored.trajectory.expire_time
        return None if expire and expire <= now else stored.trajectory

    def get(self, tenant: str, trajectory_id: str) -> Trajectory:
        t = self._live(self._store.get(tenant, trajectory_id), self._clock())
        if t is None:
            raise NotFoundError(f"trajectory {trajectory_id} not found")
        return t

    def get_many(self, tenant: str, trajectory_ids: Sequence[str]) -> dict[str, Trajectory]:
        now = self._clock()
        found = self._store.get_many(tenant, trajectory_ids)
        return {i: t for i, s in found.items() if (t := self._live(s, now)) is not None}

    def list_scope(
        self, tenant: str, scope: dict[str, str], outcome: str | None, limit: int, token: str | None
    ) -> tuple[list[Trajectory], str | None]:
        items, next_token = self._store.list_scope(tenant, scope, outcome, limit, token, now=self._clock())
        return [s.trajectory for s in items], next_token

    def delete(self, tenant: str, trajectory_id: str) -> None:
        self.get(tenant, trajectory_id)
        if not self._store.delete(tenant, trajectory_id):
            raise NotFoundError(f"trajectory {trajectory_id} not found")
        self._index.delete(tenant, trajectory_id, TRAJECTORY_VERSION + 1)
        count("TrajectoriesDeleted")

    def search(self, tenant: str, req: TrajectorySearchRequest) -> TrajectorySearchResponse:
        now = self._clock()
        hits = self._index.search(
            SearchQuery(
                tenant=tenant,
                scope_key=scope_key(req.scope),
                text=req.query,
                vector=self._embedder.embed_query(req.query),
                top_k=req.top_k,
                mode="hybrid",
                filters=(Condition("outcome", (req.outcome,)),) if req.outcome else (),
                kind="trajectory",
                now=epoch(now),
            )
        )
        records = self.get_many(tenant, [h.memory_id for h in hits])
        return TrajectorySearchResponse(
            results=[
                TrajectorySearchResult(trajectory=t, score=h.score)
                for h in hits
                if (t := records.get(h.memory_id)) is not None and t.scope == req.scope
            ]
        )
