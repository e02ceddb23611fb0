"""The procedures API over HTTP (TestClient) on moto DynamoDB and the embedded index (hashing embedder)."""

from __future__ import annotations

import threading

import pytest

from contextiq import limits
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
SCOPE = {"user_id": "u1", "app": "travel"}
STEPS = [
    {"instruction": "Search flights for the dates", "tool": "search_flights", "arguments": {"origin": "{origin}"}},
    {"instruction": "Book the cheapest flight", "tool": "book_flight", "expected": "a confirmation number"},
]


def _procedure(api, name="Book a flight", scope=SCOPE, **body):  # type: ignore[no-untyped-def]
    payload = {
        "scope": scope,
        "kind": "workflow",
        "name": name,
        "description": "Use when the user wants to book a flight between two cities",
        "steps": STEPS,
        "parameters": [{"name": "origin", "description": "departure city"}],
        **body,
    }
    resp = api.post("/v1/procedures", json=payload)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _search(api, query, scope=SCOPE, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/procedures/search", json={"scope": scope, "query": query, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def _feedback(api, pid, outcome, **body):  # type: ignore[no-untyped-def]
    resp = api.post(f"/v1/procedures/{pid}/feedback", json={"outcome": outcome, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_create_get_patch_delete_with_revisions_and_markdown(api) -> None:
    p = _procedure(api, topics=["travel"], metadata={"team": "ops"})
    assert p["status"] == "active" and p["version"] == 1
    assert p["stats"] == {"uses": 0, "successes": 0, "failures": 0, "success_rate": None, "last_used_time": None}
    got = api.get(f"/v1/procedures/{p['id']}")
    assert got.json() == p and got.headers["etag"] == '"1"'
    md = api.get(f"/v1/procedures/{p['id']}", headers={"Accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert text.startswith('---\nname: "Book a flight"\ndescription: "Use when the user wants')
    assert "1. Search flights for the dates\n   - Tool: `search_flights`" in text
    assert "2. Book the cheapest flight" in text and "- `origin` (required): departure city" in text
    patched = api.patch(
        f"/v1/procedures/{p['id']}", json={"steps": STEPS[:1], "name": "Search flights"}, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2 and patched.headers["etag"] == '"2"'
    stale = api.patch(f"/v1/procedures/{p['id']}", json={"name": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert api.delete(f"/v1/procedures/{p['id']}").status_code == 204
    assert api.get(f"/v1/procedures/{p['id']}").status_code == 404
    revs = api.get(f"/v1/procedures/{p['id']}/revisions").json()["items"]
    assert [r["action"] for r in revs] == ["CREATED", "UPDATED", "DELETED"]
    assert revs[1]["name"] == "Search flights" and len(revs[1]["steps"]) == 1 and revs[0]["name"] == "Book a flight"


def test_list_filters_and_pages(api) -> None:
    a = _procedure(api, "one")
    b = _procedure(api, "two", kind="skill")
    _procedure(api, "elsewhere", scope={"user_id": "u2"})
    api.patch(f"/v1/procedures/{b['id']}", json={"status": "deprecated"})
    everything = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel"}).json()["items"]
    assert {p["id"] for p in everything} == {a["id"], b["id"]}
    skills = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel", "kind": "skill"})
    assert [p["id"] for p in skills.json()["items"]] == [b["id"]]
    active = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel", "status": "active"})
    assert [p["id"] for p in active.json()["items"]] == [a["id"]]
    first = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel", "limit": 1}).json()
    second = api.get(
        "/v1/procedures",
        params={"scope.user_id": "u1", "scope.app": "travel", "limit": 1, "next_token": first["next_token"]},
    ).json()
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {a["id"], b["id"]}
    assert api.get("/v1/procedures").status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": []}, "steps"),
        ({"steps": [{"instruction": "x"}] * (limits.MAX_PROCEDURE_STEPS + 1)}, "steps"),
        ({"kind": "recipe"}, "kind"),
        ({"parameters": [{"name": "a"}, {"name": "a"}]}, "parameters"),
        ({"parameters": [{"name": "1bad"}]}, "parameters.0.name"),
        ({"steps": [{"instruction": "x", "arguments": {"k": "v" * 5000}}]}, "steps.0.arguments"),
        ({"steps": [{"instruction": "x", "extra": 1}]}, "steps.0.extra"),
    ],
)
def test_invalid_procedures_are_problems_naming_the_field(api, body, field) -> None:
    payload = {"scope": SCOPE, "kind": "workflow", "name": "n", "description": "d", "steps": STEPS, **body}
    resp = api.post("/v1/procedures", json=payload)
    assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == field for e in resp.json()["errors"]), resp.json()


def test_too_large_procedure_is_413(api) -> None:
    steps = [{"instruction": "x" * 2000, "expected": "y" * 2000} for _ in range(30)]
    payload = {"scope": SCOPE, "kind": "workflow", "name": "n", "description": "d", "steps": steps}
    resp = api.post("/v1/procedures", json=payload)
    assert resp.status_code == 413 and resp.json()["errors"][0]["field"] == "steps"


def test_search_relevance_kind_deprecation_and_success(api) -> None:
    flight = _procedure(api, "Book a flight")
    _procedure(
        api,
        "Reset a password",
        description="Use when a user forgot their password and cannot log in",
        steps=[{"instruction": "Send a reset link", "tool": "send_reset_email"}],
        parameters=[],
        kind="skill",
    )
    assert _search(api, "book a flight to Rome")[0]["procedure"]["id"] == flight["id"]
    assert _search(api, "forgot password", kind="skill")[0]["procedure"]["name"] == "Reset a password"
    assert all(r["procedure"]["kind"] == "skill" for r in _search(api, "flight", kind="skill"))
    api.patch(f"/v1/procedures/{flight['id']}", json={"status": "deprecated"})
    assert flight["id"] not in [r["procedure"]["id"] for r in _search(api, "book a flight")]
    found = _search(api, "book a flight", include_deprecated=True)
    assert found[0]["procedure"]["id"] == flight["id"] and found[0]["procedure"]["status"] == "deprecated"


def test_success_breaks_ties_between_equally_relevant(api) -> None:
    a = _procedure(api, "Book a flight")
    b = _procedure(api, "Book a flight")
    for _ in range(3):
        _feedback(api, b["id"], "success")
    _feedback(api, a["id"], "failure")
    ranked = [r["procedure"]["id"] for r in _search(api, "book a flight")]
    assert ranked[:2] == [b["id"], a["id"]]
    assert [r["procedure"]["id"] for r in _search(api, "book a flight", min_success_rate=0.5)] == [b["id"]]


def test_feedback_deprecates_by_the_rule_and_revives(api) -> None:
    p = _procedure(api)
    for n in range(4):
        assert _feedback(api, p["id"], "failure")["status"] == "active", n
    done = _feedback(api, p["id"], "failure", note="the booking API changed")
    assert done["status"] == "deprecated" and done["stats"]["uses"] == 5 and done["stats"]["success_rate"] == 0.0
    assert "below 30%" in done["status_reason"] and "the booking API changed" in done["status_reason"]
    assert done["version"] == 2
    assert _feedback(api, p["id"], "success")["status"] == "deprecated"  # 1/6
    assert _feedback(api, p["id"], "success")["status"] == "deprecated"  # 2/7
    back = _feedback(api, p["id"], "success")  # 3/8 = 37.5 %
    assert back["status"] == "active" and back["stats"] == {**back["stats"], "uses": 8, "successes": 3}
    actions = [r["action"] for r in api.get(f"/v1/procedures/{p['id']}/revisions").json()["items"]]
    assert actions == ["CREATED", "DEPRECATED", "REACTIVATED"]


def test_hand_deprecation_is_not_undone_by_feedback(api) -> None:
    p = _procedure(api)
    api.patch(f"/v1/procedures/{p['id']}", json={"status": "deprecated"})
    assert _feedback(api, p["id"], "success")["status"] == "deprecated"


def test_concurrent_feedback_counts_every_outcome(api) -> None:
    p = _procedure(api)
    outcomes = ["failure"] * 12 + ["success"] * 4

    def send(outcome: str) -> None:
        assert api.post(f"/v1/procedures/{p['id']}/feedback", json={"outcome": outcome}).status_code == 200

    threads = [threading.Thread(target=send, args=(o,)) for o in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = api.get(f"/v1/procedures/{p['id']}").json()
    assert final["stats"]["uses"] == 16 and final["stats"]["successes"] == 4 and final["stats"]["failures"] == 12
    assert final["status"] == "deprecated"  # 4/16 = 25 %, whatever the interleaving
    actions = [r["action"] for r in api.get(f"/v1/procedures/{p['id']}/revisions").json()["items"]]
    assert actions.count("DEPRECATED") - actions.count("REACTIVATED") == 1


def test_idempotency_key_on_create_and_feedback(api) -> None:
    body = {"scope": SCOPE, "kind": "skill", "name": "n", "description": "d", "steps": STEPS[:1]}
    first = api.post("/v1/procedures", json=body, headers={"Idempotency-Key": "k1"})
    again = api.post("/v1/procedures", json=body, headers={"Idempotency-Key": "k1"})
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    pid = first.json()["id"]
    for _ in range(2):
        api.post(f"/v1/procedures/{pid}/feedback", json={"outcome": "success"}, headers={"Idempotency-Key": "f1"})
    assert api.get(f"/v1/procedures/{pid}").json()["stats"]["uses"] == 1


def test_ttl_expires_a_procedure(api, container) -> None:
    from datetime import timedelta

    from contextiq.ids import utcnow

    p = _procedure(api, ttl_seconds=60)
    assert p["expire_time"] is not None
    later = utcnow() + timedelta(seconds=120)
    container.procedures._clock = lambda: later
    assert api.get(f"/v1/procedures/{p['id']}").status_code == 404
    assert _search(api, "book a flight") == []
    assert api.post(f"/v1/procedures/{p['id']}/feedback", json={"outcome": "success"}).status_code == 404


def test_memory_search_never_returns_procedures_and_back(api) -> None:
    _procedure(api, "Book a flight")
    api.post("/v1/memories", json={"scope": SCOPE, "fact": "Book a flight: the user likes aisle seats"})
    memories = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "book a flight"}).json()["results"]
    assert [r["memory"]["fact"] for r in memories] == ["Book a flight: the user likes aisle seats"]
    assert [r["procedure"]["name"] for r in _search(api, "book a flight")] == ["Book a flight"]


def test_another_tenant_sees_nothing_and_changes_nothing(api) -> None:
    p = _procedure(api)
    pid = p["id"]
    assert api.get(f"/v1/procedures/{pid}", headers=B).status_code == 404
    assert api.get(f"/v1/procedures/{pid}", headers={**B, "Accept": "text/markdown"}).status_code == 404
    assert api.patch(f"/v1/procedures/{pid}", json={"name": "x"}, headers=B).status_code == 404
    assert api.delete(f"/v1/procedures/{pid}", headers=B).status_code == 404
    assert api.get(f"/v1/procedures/{pid}/revisions", headers=B).status_code == 404
    assert api.post(f"/v1/procedures/{pid}/feedback", json={"outcome": "failure"}, headers=B).status_code == 404
    listed = api.get("/v1/procedures", params={"scope.user_id": "u1", "scope.app": "travel"}, headers=B)
    assert listed.json()["items"] == []
    searched = api.post("/v1/procedures/search", json={"scope": SCOPE, "query": "book a flight"}, headers=B)
    assert searched.json()["results"] == []
    assert api.get(f"/v1/procedures/{pid}").json() == p  # unchanged
