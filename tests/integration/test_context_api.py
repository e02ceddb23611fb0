"""POST /v1/context over HTTP (TestClient) on moto: sections, defaults, budget and trim order, templates,
tenancy."""

from __future__ import annotations

import pytest

from contextiq.templating.tokens import estimate_tokens
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}


@pytest.fixture
def index_events(container, monkeypatch):  # type: ignore[no-untyped-def]
    from contextiq.local.inprocess import forget_handlers, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    forget_handlers()
    yield StreamPoller.for_settings(container.settings, container.dynamodb).drain
    forget_handlers()


@pytest.fixture
def world(api, index_events):  # type: ignore[no-untyped-def]
    """u1 with an old session about Lisbon, two memories, a procedure, and a current session."""
    old = api.post("/v1/sessions", json={"user_id": "u1"}).json()["id"]
    said = api.post(
        f"/v1/sessions/{old}/events",
        json={"author": "user", "content": {"text": "I am flying to Lisbon for a conference in May"}},
    ).json()
    memories = [
        api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": fact}).json()
        for fact in ("The user is vegetarian", "The user lives in Paris and travels to Lisbon often")
    ]
    steps = [{"instruction": "Search flights for the dates"}, {"instruction": "Book the cheapest flight"}]
    proc = api.post(
        "/v1/procedures",
        json={"scope": {"user_id": "u1"}, "kind": "workflow", "name": "Book a flight",
              "description": "Use when the user wants to fly to a city", "steps": steps},
    ).json()  # fmt: skip
    sid = api.post("/v1/sessions", json={"user_id": "u1", "state": {"step": 2}}).json()["id"]
    turns = []
    for i, (author, text) in enumerate(
        [
            ("user", "hello"),
            ("agent", "hi, how can I help?"),
            ("user", "book me a flight to Lisbon"),
            ("agent", "which dates?"),
        ]
    ):
        body = {"author": author, "content": {"text": text}, "timestamp": f"2026-11-30T10:00:0{i}Z"}
        turns.append(api.post(f"/v1/sessions/{sid}/events", json=body).json())
    index_events()
    return {"sid": sid, "said": said, "memories": memories, "procedure": proc, "turns": turns}


def test_defaults_from_the_session(api, world) -> None:
    resp = api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": 2000})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["query"] == "book me a flight to Lisbon" and out["scope"] == {"user_id": "u1"}
    assert out["template"] == {"id": "default", "version": 1} and out["truncated"] is False
    assert [e["id"] for e in out["sections"]["recent_events"]] == [t["id"] for t in world["turns"]]
    assert {m["id"] for m in out["sections"]["memories"]} == {m["id"] for m in world["memories"]}
    assert all(isinstance(m["score"], float) for m in out["sections"]["memories"])
    assert [p["id"] for p in out["sections"]["procedures"]] == [world["procedure"]["id"]]
    event_ids = [e["id"] for e in out["sections"]["events"]]
    assert world["said"]["id"] in event_ids and not set(event_ids) & {t["id"] for t in world["turns"]}
    text = out["text"]
    assert "- The user is vegetarian" in text and "1. Search flights for the dates" in text
    assert "user: book me a flight to Lisbon" in text and "flying to Lisbon for a conference" in text
    assert out["token_estimate"] == estimate_tokens(text) <= 2000


def test_budget_trims_whole_items_in_order(api, world) -> None:
    full = api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": 2000}).json()
    for budget in (full["token_estimate"] - 1, 60, 25):
        out = api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": budget}).json()
        assert out["token_estimate"] <= budget and out["truncated"] is True
        kept = out["sections"]
        # never half an item: every kept item's text is in the text whole
        for m in kept["memories"]:
            assert m["text"] in out["text"]
        for e in kept["recent_events"]:
            assert f"{e['author']}: {e['text']}" in out["text"]
        # trim order: searched events go first, then the oldest recent turns, then procedures, then memories
        if kept["recent_events"]:
            assert kept["events"] == []
            assert [e["id"] for e in kept["recent_events"]] == [t["id"] for t in world["turns"]][
                -len(kept["recent_events"]) :
            ]
        if kept["procedures"]:
            assert len(kept["recent_events"]) == len(world["turns"])
        if kept["memories"] and not kept["procedures"]:
            assert kept["recent_events"] == []
        assert sum(out["omitted"].values()) > 0
    tiny = api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": 1, "template": "0123456789 x y z"})
    assert tiny.status_code == 422 and tiny.json()["errors"][0]["field"] == "max_tokens"


def test_scope_query_counts_and_templates(api, world) -> None:
    body = {"scope": {"user_id": "u1"}, "query": "what food does the user eat", "max_tokens": 500, "events": 0,
            "procedures": 0, "memories": 1}  # fmt: skip
    out = api.post("/v1/context", json=body).json()
    assert [m["text"] for m in out["sections"]["memories"]] == ["The user is vegetarian"]
    assert out["sections"]["recent_events"] == [] and out["sections"]["events"] == []
    tpl = api.post(
        "/v1/templates",
        json={"name": "mine", "body": "{{ greeting }} {{ session.state.step if session else '' }}|"
              "{% for m in memories %}{{ m.text }};{% endfor %}", "variables": [{"name": "greeting", "required": True}]},
    ).json()  # fmt: skip
    render = {"session_id": world["sid"], "max_tokens": 300, "template_id": tpl["id"], "variables": {"greeting": "Hi"}}
    out = api.post("/v1/context", json=render).json()
    assert out["text"].startswith("Hi 2|") and out["template"] == {"id": tpl["id"], "version": 1}
    api.patch(f"/v1/templates/{tpl['id']}", json={"body": "v2 {{ greeting }}"})
    assert api.post("/v1/context", json=render).json()["template"]["version"] == 2
    old = api.post("/v1/context", json={**render, "template_version": 1}).json()
    assert old["template"]["version"] == 1 and old["text"].startswith("Hi 2|")
    missing = api.post("/v1/context", json={**render, "variables": {}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "variables.greeting"
    undeclared = api.post("/v1/context", json={**render, "variables": {"greeting": "x", "other": 1}})
    assert undeclared.status_code == 422
    inline = api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": 50,
                                           "template": "{{ who }}: {{ query }}", "variables": {"who": "Q"}})  # fmt: skip
    assert inline.json()["text"] == "Q: book me a flight to Lisbon" and inline.json()["template"]["id"] == "inline"
    bad = api.post("/v1/context", json={"scope": {"user_id": "u1"}, "query": "x", "max_tokens": 50,
                                        "template": "a\n{{ memories[0].nope }}"})  # fmt: skip
    assert bad.status_code == 422 and "line 2" in bad.json()["errors"][0]["message"]
    escape = api.post("/v1/context", json={"scope": {"user_id": "u1"}, "max_tokens": 50,
                                           "template": "{{ ''.__class__.__mro__ }}"})  # fmt: skip
    assert escape.status_code == 422 and escape.json()["errors"][0]["field"] == "template"


def test_validation(api) -> None:
    for body in (
        {"max_tokens": 10},
        {"scope": {"user_id": "u1"}, "max_tokens": 0},
        {"scope": {"user_id": "u1"}, "max_tokens": 10, "template_id": "x", "template": "y"},
        {"scope": {"user_id": "u1"}, "max_tokens": 10, "template_version": 2},
        {"scope": {"user_id": "u1"}, "max_tokens": 10, "memories": 1000},
        {"scope": {"user_id": "u1"}, "max_tokens": 10, "template": "{{ query }}", "variables": {"a-b": 1}},
    ):
        resp = api.post("/v1/context", json=body)
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json", body
    assert api.post("/v1/context", json={"session_id": "nope", "max_tokens": 10}).status_code == 404
    gone = api.post("/v1/context", json={"scope": {"user_id": "u1"}, "max_tokens": 10, "template_id": "nope"})
    assert gone.status_code == 404


def test_another_tenant_gets_nothing(api, world) -> None:
    assert api.post("/v1/context", json={"session_id": world["sid"], "max_tokens": 500}, headers=B).status_code == 404
    out = api.post(
        "/v1/context", json={"scope": {"user_id": "u1"}, "query": "Lisbon flight", "max_tokens": 500}, headers=B
    ).json()
    assert out["sections"] == {"recent_events": [], "memories": [], "events": [], "procedures": []}
    tpl = api.post("/v1/templates", json={"name": "a", "body": "A"}).json()
    other = api.post(
        "/v1/context", json={"scope": {"user_id": "u1"}, "max_tokens": 50, "template_id": tpl["id"]}, headers=B
    )
    assert other.status_code == 404


def test_an_idempotency_key_is_ignored_on_this_read(api) -> None:
    body = {"scope": {"user_id": "u9"}, "query": "what does the user eat", "max_tokens": 500}
    h = {"Idempotency-Key": "same-key"}
    first = api.post("/v1/context", json=body, headers=h)
    assert first.status_code == 200 and first.json()["sections"]["memories"] == []
    api.post("/v1/memories", json={"scope": {"user_id": "u9"}, "fact": "The user eats only vegetables"})
    again = api.post("/v1/context", json=body, headers=h)  # not a replay: the new memory is in it
    assert "idempotent-replayed" not in again.headers
    assert [m["text"] for m in again.json()["sections"]["memories"]] == ["The user eats only vegetables"]
