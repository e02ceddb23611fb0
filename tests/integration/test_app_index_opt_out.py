"""A tenant opts one of its apps out of turn-level event indexing itself (``index_events: false`` on the
app's policy, ``PUT /v1/generation-policies/{app}``), over the API on moto with the real indexer handler
fed by the sessions table's stream: the app's already indexed turns are removed, new ones are not indexed,
other apps and another tenant's app of the same name are untouched, the operator's list still overrides,
and reindex honours the tenant's choice."""

from __future__ import annotations

import pytest

from contextiq.services.indexing import reindex
from tests.conftest import TENANT_B_KEY
from tests.integration.test_episodes_api import _events, _say, _session
from tests.integration.test_event_index_lifecycle import _indexed

B = {"x-api-key": TENANT_B_KEY}


@pytest.fixture
def drain(container, monkeypatch):  # type: ignore[no-untyped-def]
    """The streams run dry through functions/indexer/handler.py (a fresh handler module, so a fresh cache)."""
    from contextiq.local.inprocess import forget_handlers, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONTEXTIQ_EVENT_INDEX_OPT_OUT", "tenant-a/locked")
    forget_handlers()
    yield StreamPoller.for_settings(container.settings, container.dynamodb).drain
    forget_handlers()


def _ids(results) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r["event"]["id"] for r in results)


def test_a_tenant_turns_event_indexing_off_for_one_app(api, container, drain) -> None:
    diary = _session(api, app="diary")
    before = _say(api, diary, "Dr Okafor said the scan looks fine")
    travel = _session(api, app="travel")
    kept = _say(api, travel, "Dr Okafor recommended a hotel in Porto")
    b_diary = _session(api, app="diary", headers=B)
    b_kept = _say(api, b_diary, "Okafor is tenant B's diary entry", headers=B)
    drain()
    assert _ids(_events(api, query="Okafor", mode="keyword")) == sorted([before["id"], kept["id"]])

    resp = api.put("/v1/generation-policies/diary", json={"index_events": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["index_events"] is False and resp.json()["version"] == 1
    assert api.get("/v1/generation-policies/diary").json()["index_events"] is False
    later = _say(api, diary, "Okafor booked a follow-up for May")
    drain()  # the policy item's stream record purges the app's turns; the new turn is skipped
    assert _ids(_events(api, query="Okafor", mode="keyword")) == [kept["id"]]
    assert _indexed(container, "Okafor") == [f"{travel}/1"]
    recalled = api.post("/v1/recall", json={"scope": {"user_id": "u1"}, "query": "Okafor"}).json()["results"]
    assert [r["event"]["id"] for r in recalled if r["type"] == "event"] == [kept["id"]]
    # tenant B's app of the same name is its own: still indexed, and B cannot see A's policy
    assert _ids(_events(api, headers=B, query="Okafor", mode="keyword")) == [b_kept["id"]]
    assert api.get("/v1/generation-policies/diary", headers=B).status_code == 404
    # the turns are still stored and listed; only the index forgot them
    listed = api.get(f"/v1/sessions/{diary}/events").json()["items"]
    assert [e["id"] for e in listed] == [before["id"], later["id"]]
    # reindex honours the tenant's choice
    counts = reindex(
        container.vector_index, container.embedder, container.index_tables(), opted_out=container.event_opt_out
    )
    assert counts["events"] == 2  # A's travel turn and B's diary turn
    assert _indexed(container, "Okafor") == [f"{travel}/1"]

    # turning it back on (deleting the policy) indexes new turns again
    assert api.delete("/v1/generation-policies/diary").status_code == 204
    drain()
    again = _say(api, diary, "Okafor moved the appointment")
    drain()
    assert _ids(_events(api, query="Okafor", mode="keyword")) == sorted([kept["id"], again["id"]])


def test_the_operator_list_overrides_the_tenant(api, drain) -> None:
    put = api.put("/v1/generation-policies/locked", json={"index_events": True, "every_n_events": 50})
    assert put.status_code == 200, put.text
    sid = _session(api, app="locked")
    _say(api, sid, "Okafor in an app the operator opted out")
    drain()
    assert _events(api, query="Okafor", mode="keyword") == []


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/v1/generation-policies/diary", "put", {"index_events": "sometimes"}, "index_events"),
        ("/v1/generation-policies/diary", "put", {"index_events": None}, "index_events"),
    ],
)
def test_bad_index_events_is_a_422_problem(api, path, method, body, field) -> None:  # type: ignore[no-untyped-def]
    resp = getattr(api, method)(path, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in resp.text


def test_a_sessions_own_policy_has_no_index_events(api) -> None:
    sid = _session(api, app="diary")
    resp = api.patch(f"/v1/sessions/{sid}", json={"generation_policy": {"index_events": False}})
    assert resp.status_code == 422, resp.text
    assert "index_events" in resp.text
