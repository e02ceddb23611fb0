"""The scripted demo conversation through the real pipeline (queues, handlers, MiniLM, embedded index)
ends with exactly the expected memories, whether generated at once or in two steps."""

from __future__ import annotations

import pytest

from contextiq.evaluation.dataset import demo_conversation, match_facts
from contextiq.models.jobs import GenerateRequest, JobStatus
from contextiq.models.sessions import EventCreate, SessionCreate

pytestmark = [pytest.mark.minilm]
TENANT = "demo"


def _append(container, sid, turns) -> None:  # type: ignore[no-untyped-def]
    for t in turns:
        body = {"author": t.author, "role": t.role, "content": {"text": t.text}, "timestamp": t.timestamp}
        container.sessions.append_event(TENANT, sid, EventCreate.model_validate(body))


def _generate(container, drain, sid):  # type: ignore[no-untyped-def]
    job = container.generation.submit(TENANT, GenerateRequest(session_id=sid))
    drain()
    done = container.generation.get(TENANT, job.id)
    assert done.status == JobStatus.SUCCEEDED, done.error
    return done.result


@pytest.mark.parametrize("split", [None, 12])
def test_demo_conversation_yields_the_expected_memories(tmp_path, split) -> None:
    from contextiq.local.inprocess import in_process_stack

    demo = demo_conversation()
    turns = list(demo.turns)
    with in_process_stack(tmp_path, embedder="minilm") as (container, drain):
        sid = container.sessions.create(TENANT, SessionCreate(user_id=demo.user_id, app_name="travel")).id
        if split:
            _append(container, sid, turns[:split])
            _generate(container, drain, sid)
            _append(container, sid, turns[split:])
        else:
            _append(container, sid, turns)
        result = _generate(container, drain, sid)
        if split:
            assert result.updated >= 2 and result.deleted >= 1, result  # budget and city change, a retraction
        memories, _ = container.memories.list_scope(TENANT, {"user_id": demo.user_id}, None, 100, None)
        matched = match_facts(demo.expected_memories, [m.fact for m in memories])
        assert not matched.missing and not matched.extra, matched
        again = _generate(container, drain, sid)
        assert (again.added, again.updated, again.deleted) == (0, 0, 0)
