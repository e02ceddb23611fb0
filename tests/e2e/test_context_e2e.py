"""POST /v1/context over real HTTP against `contextiq local`: a stored template renders the session's turns
and the memory the indexer made searchable, within the budget; another tenant cannot assemble from it."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import KEY_B, Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

BODY = (
    "{% for m in memories %}- {{ m.text }}\n{% endfor %}"
    "{% for e in recent_events %}{{ e.author }}: {{ e.text }}\n{% endfor %}"
    "{{ tone }}"
)


def test_context_assembles_session_and_memories_through_a_stored_template(server: Server) -> None:
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "ctx-e2e", "app_name": "travel"}).json()["id"]
        turns = [
            c.post(f"/v1/sessions/{sid}/events", json={"author": a, "role": a, "content": {"text": t}}).json()
            for a, t in [("user", "Book me a train to Porto"), ("agent", "For which day?"), ("user", "Friday")]
        ]
        memory = c.post("/v1/memories", json={"scope": {"user_id": "ctx-e2e"}, "fact": "The user is vegetarian"})
        assert memory.status_code == 201
        template = c.post(
            "/v1/templates",
            json={"name": "e2e", "body": BODY, "variables": [{"name": "tone", "default": "Be brief."}]},
        )
        assert template.status_code == 201, template.text
        tid = template.json()["id"]
        request = {"session_id": sid, "query": "food preferences", "max_tokens": 500, "template_id": tid}

        deadline = time.monotonic() + 60  # the memory reaches the index through the local stream poller
        while True:
            resp = c.post("/v1/context", json=request)
            assert resp.status_code == 200, resp.text
            out = resp.json()
            if out["sections"]["memories"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)

        assert [m["id"] for m in out["sections"]["memories"]] == [memory.json()["id"]]
        assert [e["id"] for e in out["sections"]["recent_events"]] == [t["id"] for t in turns]
        assert out["template"]["id"] == tid and out["template"]["version"] == 1
        assert "- The user is vegetarian\n" in out["text"]
        assert "user: Book me a train to Porto\nagent: For which day?\nuser: Friday\n" in out["text"]
        assert out["text"].endswith("Be brief.")
        assert out["token_estimate"] <= 500 and out["truncated"] is False

    with server.client(KEY_B) as other:
        refused = other.post("/v1/context", json={"session_id": sid, "max_tokens": 500})
        assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
        assert (
            other.post("/v1/context", json={**request, "session_id": None, "scope": {"user_id": "ctx-e2e"}}).status_code
            == 404
        )
        own_scope = other.post(
            "/v1/context", json={"scope": {"user_id": "ctx-e2e"}, "query": "food preferences", "max_tokens": 500}
        )
        assert own_scope.status_code == 200 and own_scope.json()["sections"]["memories"] == []
        assert "vegetarian" not in own_scope.json()["text"]
