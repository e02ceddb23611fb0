"""Episodes and recall over HTTP (TestClient) on moto: events reach the index through the sessions
table's DynamoDB stream and the same indexer handler the cloud runs (local/streams.py feeds it)."""

from __future__ import annotations

import pytest

from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}


@pytest.fixture
def index_events(container, monkeypatch):  # type: ignore[no-untyped-def]
    """drain(): run the streams dry through functions/indexer/handler.py."""
    from contextiq.local.inprocess import forget_handlers, settings_env
    from contextiq.local.streams import StreamPoller

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    forget_handlers()
    poller = StreamPoller.for_settings(container.settings, container.dynamodb)
    yield poller.drain
    forget_handlers()


def _session(api, user="u1", app="travel", headers=None):  # type: ignore[no-untyped-def]
    body = {"user_id": user, **({"app_name": app} if app else {})}
    resp = api.post("/v1/sessions", json=body, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _say(api, sid, text, author="user", when="2024-05-02T10:00:00Z", headers=None):  # type: ignore[no-untyped-def]
    body = {"author": author, "content": {"text": text}, "timestamp": when}
    resp = api.post(f"/v1/sessions/{sid}/events", json=body, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _events(api, headers=None, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/events/search", json={"user_id": "u1", **body}, headers=headers or {})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def test_event_search_finds_what_was_said(api, index_events) -> None:
    travel = _session(api)
    e1 = _say(api, travel, "I'm flying to Lisbon on May 3rd for a conference")
    _say(api, travel, "Great, enjoy Portugal!", author="agent", when="2024-05-02T10:00:05Z")
    work = _session(api, app="work")
    e3 = _say(api, work, "The Lisbon office opens in 2025", when="2023-01-10T09:00:00Z")
    other_user = _session(api, user="u2")
    _say(api, other_user, "I'm flying to Lisbon too")
    b_session = _session(api, headers=B)
    _say(api, b_session, "I'm flying to Lisbon as tenant B", headers=B)
    assert _events(api, query="Lisbon") == []  # not indexed until the stream is read
    index_events()
    for mode in ("hybrid", "semantic", "keyword"):
        found = _events(api, query="flying to Lisbon", mode=mode)
        assert {r["event"]["id"] for r in found} <= {e1["id"], e3["id"], *[r["event"]["id"] for r in found]}
        assert found[0]["event"]["id"] == e1["id"], mode
    hit = _events(api, query="Lisbon conference")[0]
    assert set(hit["event"]) >= {"id", "session_id", "seq", "author", "timestamp", "content"}
    assert hit["event"]["session_id"] == travel and hit["event"]["seq"] == 1 and hit["score"] > 0
    ids = {r["event"]["id"] for r in _events(api, query="Lisbon", mode="keyword")}
    assert ids == {e1["id"], e3["id"]}  # only u1's, only tenant A's
    assert [r["event"]["id"] for r in _events(api, query="Lisbon", mode="keyword", app_name="work")] == [e3["id"]]
    assert [r["event"]["id"] for r in _events(api, query="Lisbon", mode="keyword", session_id=travel)] == [e1["id"]]
    window = {"after": "2024-01-01T00:00:00Z", "before": "2025-01-01T00:00:00Z"}
    assert [r["event"]["id"] for r in _events(api, query="Lisbon", mode="keyword", **window)] == [e1["id"]]
    # memory search never returns events
    memories = api.post("/v1/memories/search", json={"scope": {"user_id": "u1"}, "query": "Lisbon"}).json()
    assert memories["results"] == []
    # tenant B cannot see tenant A's events, whatever it asks
    assert [r["event"]["content"]["text"] for r in _events(api, headers=B, query="Lisbon")] == [
        "I'm flying to Lisbon as tenant B"
    ]
    assert _events(api, headers=B, query="Lisbon", session_id=travel) == []


def test_session_delete_removes_its_events_and_reindex_covers_events(api, container, index_events) -> None:
    from contextiq.services.indexing import reindex

    sid = _session(api)
    _say(api, sid, "My passport number ends in 4471")
    keep = _session(api)
    kept = _say(api, keep, "My passport expires in 2031")
    index_events()
    assert len(_events(api, query="passport", mode="keyword")) == 2
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    assert [r["event"]["id"] for r in _events(api, query="passport", mode="keyword")] == [kept["id"]]  # re-read
    index_events()  # the REMOVE records take it out of the index itself
    from contextiq.stores.vector.base import SearchQuery
    from contextiq.stores.vector.documents import events_partition

    raw = container.vector_index.search(
        SearchQuery("tenant-a", events_partition("u1"), "passport", None, mode="keyword", kind="event")
    )
    assert [h.memory_id for h in raw] == [f"{keep}/1"]
    counts = reindex(container.vector_index, container.embedder, container.index_tables())
    assert counts["events"] == 1
    assert [r["event"]["id"] for r in _events(api, query="passport", mode="keyword")] == [kept["id"]]


def test_a_session_created_with_index_events_false_is_never_indexed(api, container, index_events) -> None:
    from contextiq.services.indexing import reindex

    private = api.post("/v1/sessions", json={"user_id": "u1", "app_name": "diary", "index_events": False})
    assert private.status_code == 201 and private.json()["index_events"] is False
    pid = private.json()["id"]
    assert api.get(f"/v1/sessions/{pid}").json()["index_events"] is False
    _say(api, pid, "My therapist is Dr Okafor")
    public = _session(api)
    assert api.get(f"/v1/sessions/{public}").json()["index_events"] is True  # the default
    kept = _say(api, public, "My dentist is Dr Okafor")
    index_events()
    assert [r["event"]["id"] for r in _events(api, query="Okafor", mode="keyword")] == [kept["id"]]
    recalled = api.post("/v1/recall", json={"scope": {"user_id": "u1"}, "query": "Okafor"}).json()["results"]
    assert [r["event"]["id"] for r in recalled if r["type"] == "event"] == [kept["id"]]
    # a rebuild skips it too; the events themselves are still stored and listed
    assert reindex(container.vector_index, container.embedder, container.index_tables())["events"] == 1
    assert [r["event"]["id"] for r in _events(api, query="Okafor", mode="keyword")] == [kept["id"]]
    listed = api.get(f"/v1/sessions/{pid}/events").json()
    assert [e["content"]["text"] for e in listed["items"]] == ["My therapist is Dr Okafor"]
    bad = api.post("/v1/sessions", json={"user_id": "u1", "index_events": "sometimes"})
    assert bad.status_code == 422 and "index_events" in bad.text


def test_recall_fuses_memories_and_events_and_respects_scope(api, index_events) -> None:
    sid = _session(api, app="travel")
    said = _say(api, sid, "I booked the Hotel Miramar in Lisbon for the conference")
    memory = api.post(
        "/v1/memories",
        json={"scope": {"user_id": "u1", "app_name": "travel"}, "fact": "The user stays at Hotel Miramar in Lisbon",
              "metadata": {"kind": "booking", "stars": 4}},
    ).json()  # fmt: skip
    other_app = _session(api, app="work")
    _say(api, other_app, "Hotel Miramar hosts the offsite")
    index_events()
    body = {"scope": {"user_id": "u1", "app_name": "travel"}, "query": "Which hotel in Lisbon?", "top_k": 5}
    resp = api.post("/v1/recall", json=body)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    kinds = {(r["type"], (r.get("memory") or r.get("event"))["id"]) for r in results}
    assert kinds == {("memory", memory["id"]), ("event", said["id"])}  # not the work app's event
    assert all(r["score"] > 0 for r in results)
    only_events = api.post("/v1/recall", json={**body, "sources": ["event"]}).json()["results"]
    assert [r["type"] for r in only_events] == ["event"]
    filtered = api.post("/v1/recall", json={**body, "filter": {"metadata.stars": {"gte": 5}}}).json()["results"]
    assert filtered == []  # the filter applies to both sources (the event has no such metadata)
    assert api.post("/v1/recall", json=body, headers=B).json()["results"] == []
    no_user = api.post("/v1/recall", json={**body, "scope": {"app_name": "travel"}}).json()["results"]
    assert no_user == []  # events need the scope's user_id; no memory has this exact scope


def test_recall_resolves_an_event_anchor(api, index_events) -> None:
    """Recall of "before my trip to Lisbon": the trip is looked up among the user's events and bounds a boost window;
    another user's or tenant's trip is never the anchor, and an anchor never told changes nothing."""
    sid = _session(api, app="books")
    old = _say(api, sid, "I'm reading Dune at the moment", when="2024-03-01T10:00:00Z")
    trip = _say(api, sid, "I just got back from my trip to Lisbon", when="2024-04-10T10:00:00Z")
    new = _say(api, sid, "I'm reading Emma at the moment, it's great", when="2024-05-20T10:00:00Z")
    other = _session(api, user="u2", app="books")
    _say(api, other, "My trip to Lisbon starts today", when="2024-01-01T10:00:00Z")
    b_sid = _session(api, app="books", headers=B)
    _say(api, b_sid, "Back from my trip to Lisbon", when="2024-01-02T10:00:00Z", headers=B)
    index_events()
    scope = {"user_id": "u1", "app_name": "books"}
    body = {"scope": scope, "query": "What was I reading before my trip to Lisbon?", "sources": ["event"]}
    resp = api.post("/v1/recall", json=body)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["anchor"]["event_id"] == trip["id"] and got["anchor"]["relation"] == "before"
    assert got["anchor"]["phrase"] == "my trip to Lisbon" and got["anchor"]["confidence"] == 1.0
    assert got["before"] == got["anchor"]["timestamp"] and got["after"] is None
    ids = [r["event"]["id"] for r in got["results"]]
    assert ids[0] == old["id"] and set(ids) == {old["id"], trip["id"], new["id"]}  # boosted, nothing dropped
    since = api.post("/v1/recall", json={**body, "query": "What have I been reading since my trip to Lisbon?"}).json()
    assert since["anchor"]["relation"] == "after" and since["before"] is None
    assert since["results"][0]["event"]["id"] == new["id"]
    never = api.post("/v1/recall", json={**body, "query": "What was I reading before the wedding?"}).json()
    assert never["anchor"] is None and never["before"] is None and len(never["results"]) >= 2
    # tenant B's only trip is its own; u2's events are not u1's anchor
    b_got = api.post("/v1/recall", json={**body, "query": "What was I reading before my trip to Lisbon?"}, headers=B)
    assert b_got.status_code == 200 and (b_got.json()["anchor"] or {}).get("event_id") != trip["id"]
    u2 = api.post("/v1/recall", json={**body, "scope": {"user_id": "u2", "app_name": "books"}}).json()
    assert u2["anchor"]["session_id"] == other


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/events/search", {"user_id": "u1", "query": "x", "top_k": 0}),
        ("/v1/events/search", {"user_id": "u#1", "query": "x"}),
        ("/v1/events/search", {"user_id": "u1", "query": ""}),
        ("/v1/events/search", {"user_id": "u1", "query": "x", "after": "2024-02-01", "before": "2024-01-01"}),
        ("/v1/recall", {"scope": {}, "query": "x"}),
        ("/v1/recall", {"scope": {"user_id": "u1"}, "query": "x", "sources": ["procedure"]}),
        ("/v1/recall", {"scope": {"user_id": "u1"}, "query": "x", "filter": {"color": "red"}}),
        ("/v1/recall", {"scope": {"user_id": "u1"}, "query": "x", "extra": 1}),
    ],
)
def test_bad_requests_are_422(api, path, body) -> None:  # type: ignore[no-untyped-def]
    resp = api.post(path, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_hybrid_event_search_gives_no_keyword_credit_for_question_words(api, index_events) -> None:
    """Event search's fusion (services/episodes.EVENT_FUSION) leaves the query's function words out of its
    keyword side: a chatty turn that shares only "what" with the question keeps its semantic score, while
    the turn that names Lisbon is lifted (without the fix both were lifted alike)."""
    sid = _session(api)
    chatty = _say(api, sid, "What should I wear to work tomorrow?")
    answer = _say(api, sid, "I'm flying to Lisbon on May 3rd", when="2024-05-02T10:01:00Z")
    index_events()
    query = "What did I say about Lisbon?"
    semantic = {r["event"]["id"]: r["score"] for r in _events(api, query=query, mode="semantic")}
    hybrid = {r["event"]["id"]: r["score"] for r in _events(api, query=query, mode="hybrid")}
    assert hybrid[chatty["id"]] == pytest.approx(semantic[chatty["id"]], abs=1e-6)
    assert hybrid[answer["id"]] > semantic[answer["id"]] + 0.05
