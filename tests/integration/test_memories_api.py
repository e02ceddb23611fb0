"""The memories API over HTTP (TestClient) against moto DynamoDB and the embedded index (hashing embedder)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contextiq import limits
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}
SCOPE = {"user_id": "u1", "app": "travel"}


def _memory(api, fact="The user is vegetarian", scope=SCOPE, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories", json={"scope": scope, "fact": fact, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _search(api, query, scope=SCOPE, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories/search", json={"scope": scope, "query": query, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def test_create_get_patch_delete_with_revisions(api) -> None:
    m = _memory(api, topics=["USER_PREFERENCES"], metadata={"k": "v"})
    assert m["version"] == 1 and m["scope"] == SCOPE and m["topics"] == ["USER_PREFERENCES"]
    got = api.get(f"/v1/memories/{m['id']}")
    assert got.json() == m and got.headers["etag"] == '"1"'
    patched = api.patch(f"/v1/memories/{m['id']}", json={"fact": "The user is vegan"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = api.patch(f"/v1/memories/{m['id']}", json={"fact": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert api.delete(f"/v1/memories/{m['id']}").status_code == 204
    assert api.get(f"/v1/memories/{m['id']}").status_code == 404
    assert api.delete(f"/v1/memories/{m['id']}").status_code == 404
    revs = api.get(f"/v1/memories/{m['id']}/revisions").json()["items"]
    assert [r["action"] for r in revs] == ["CREATED", "UPDATED", "DELETED"]
    assert revs[1]["previous_fact"] == "The user is vegetarian" and revs[1]["fact"] == "The user is vegan"
    assert all(r["actor"] == "apikey:ka" for r in revs)
    assert [r["version"] for r in revs] == [1, 2, 3]


def test_search_finds_by_keyword_and_respects_scope(api) -> None:
    a = _memory(api, "The user is allergic to peanuts")
    _memory(api, "The user prefers window seats")
    _memory(api, "The user is allergic to peanuts", scope={"user_id": "u1"})  # another scope
    _memory(api, "The user is allergic to peanuts", scope={"user_id": "u2", "app": "travel"})
    for mode in ("hybrid", "keyword", "semantic"):
        results = _search(api, "allergic peanuts", mode=mode)
        ids = [r["memory"]["id"] for r in results]
        assert ids[0] == a["id"], mode
        assert all(r["memory"]["scope"] == SCOPE for r in results)
    assert len(_search(api, "peanuts", top_k=1)) == 1


def test_search_topics_and_min_score(api) -> None:
    _memory(api, "The user likes jazz", topics=["USER_PREFERENCES"])
    _memory(api, "The user lives in Lyon", topics=["USER_PERSONAL_INFO"])
    only = _search(api, "user", topics=["USER_PERSONAL_INFO"])
    assert [r["memory"]["fact"] for r in only] == ["The user lives in Lyon"]
    assert _search(api, "jazz", min_score=10.0) == []


def test_update_re_embeds(api) -> None:
    m = _memory(api, "The user lives in Paris")
    api.patch(f"/v1/memories/{m['id']}", json={"fact": "The user lives in Berlin"})
    assert [r["memory"]["id"] for r in _search(api, "Berlin", mode="keyword")] == [m["id"]]
    assert _search(api, "Paris", mode="keyword") == []


def test_delete_and_expiry_remove_from_search(api, container) -> None:
    gone = _memory(api, "The user owns a red bicycle")
    soon = _memory(api, "The user owns a blue kayak", ttl_seconds=60)
    api.delete(f"/v1/memories/{gone['id']}")
    assert [r["memory"]["id"] for r in _search(api, "owns")] == [soon["id"]]
    from contextiq.ids import utcnow

    container.memories._clock = lambda: utcnow() + timedelta(seconds=61)
    assert _search(api, "owns") == []
    assert api.get(f"/v1/memories/{soon['id']}").status_code == 404


def test_list_scope_with_topic_and_pages(api) -> None:
    ids = [_memory(api, f"fact {i}", topics=["A"] if i % 2 else ["B"])["id"] for i in range(5)]
    _memory(api, "other scope", scope={"user_id": "u1"})
    page = api.get("/v1/memories?scope.user_id=u1&scope.app=travel&limit=3").json()
    rest = api.get(f"/v1/memories?scope.user_id=u1&scope.app=travel&limit=3&next_token={page['next_token']}").json()
    assert [m["id"] for m in page["items"] + rest["items"]] == ids
    only_a = api.get("/v1/memories?scope.user_id=u1&scope.app=travel&topic=A").json()["items"]
    assert [m["id"] for m in only_a] == [ids[1], ids[3]]
    assert [m["fact"] for m in api.get("/v1/memories?scope.user_id=u1").json()["items"]] == ["other scope"]
    assert api.get("/v1/memories").status_code == 422


def test_validation_and_limits(api) -> None:
    too_long = "x" * (limits.MAX_FACT_CHARS + 1)
    resp = api.post("/v1/memories", json={"scope": SCOPE, "fact": too_long})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "fact"
    nine = {f"k{i}": "v" for i in range(limits.MAX_SCOPE_KEYS + 1)}
    assert api.post("/v1/memories", json={"scope": nine, "fact": "f"}).status_code == 422
    assert api.post("/v1/memories", json={"scope": {}, "fact": "f"}).status_code == 422
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "q", "top_k": 101})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "top_k"
    assert api.post("/v1/memories/search", json={"scope": SCOPE, "query": "q", "mode": "fuzzy"}).status_code == 422
    assert api.patch("/v1/memories/x", json={}).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/memories/{id}", None),
        ("PATCH", "/v1/memories/{id}", {"fact": "hijacked"}),
        ("DELETE", "/v1/memories/{id}", None),
        ("GET", "/v1/memories/{id}/revisions", None),
    ],
)
def test_other_tenant_gets_404_and_changes_nothing(api, method, path, body) -> None:
    m = _memory(api, "The user's passport number is X123")
    resp = api.request(method, path.format(id=m["id"]), json=body, headers=B)
    assert resp.status_code == 404 and "X123" not in resp.text
    assert api.get(f"/v1/memories/{m['id']}").json() == m


def test_other_tenant_never_sees_memories_in_search_or_list(api) -> None:
    _memory(api, "The user's passport number is X123")
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "passport"}, headers=B)
    assert resp.status_code == 200 and resp.json()["results"] == []
    assert api.get("/v1/memories?scope.user_id=u1&scope.app=travel", headers=B).json()["items"] == []


def test_idempotent_memory_create(api) -> None:
    body = {"scope": SCOPE, "fact": "once"}
    a = api.post("/v1/memories", json=body, headers={"Idempotency-Key": "m1"}).json()
    b = api.post("/v1/memories", json=body, headers={"Idempotency-Key": "m1"}).json()
    assert a == b
    assert len(api.get("/v1/memories?scope.user_id=u1&scope.app=travel").json()["items"]) == 1


def test_replay_after_delete_reports_the_first_answer_and_writes_nothing(api) -> None:
    """docs/limits.md: a replay answers what the first request answered (201 and its Location) even if
    the memory was deleted since, marked Idempotent-Replayed; it does not bring the memory back."""
    body = {"scope": SCOPE, "fact": "once, then deleted"}
    first = api.post("/v1/memories", json=body, headers={"Idempotency-Key": "gone-1"})
    assert first.status_code == 201 and api.delete(first.headers["Location"]).status_code == 204
    replay = api.post("/v1/memories", json=body, headers={"Idempotency-Key": "gone-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json() and replay.headers["Location"] == first.headers["Location"]
    assert api.get(replay.headers["Location"]).status_code == 404
    assert api.get("/v1/memories?scope.user_id=u1&scope.app=travel").json()["items"] == []


def test_embedding_model_mismatch_is_refused_clearly(api, container) -> None:
    """An index built by one embedding model refuses another model's vectors instead of mixing them."""
    from contextiq.ai.embedders.hashing import HashingEmbedder
    from contextiq.stores.vector.factory import build_vector_index, index_info_for

    _memory(api, "The user likes tea")
    other = container.settings.model_copy(update={"embedding_dimensions": 128})
    fresh = type(container)(other)
    fresh.api_keys.put("key-mismatch", "tenant-a", key_id="km")
    assert index_info_for(fresh.embedder) != index_info_for(HashingEmbedder(256))
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app

    with TestClient(create_app(fresh), headers={"x-api-key": "key-mismatch"}) as client:
        resp = client.post("/v1/memories/search", json={"scope": SCOPE, "query": "tea"})
    assert resp.status_code == 503
    assert resp.json()["type"].endswith("/index-mismatch") and "reindex" in resp.json()["detail"]
    assert build_vector_index(container.settings) is container.vector_index  # the original index is intact


def test_event_time_is_settable_returned_and_filters_search(api) -> None:
    dated = _memory(api, "The user hiked Mont Blanc", event_time="2022-07-14T08:00:00Z")
    naive = _memory(api, "The user hiked Etna", event_time="2023-05-02T10:00:00")  # naive = UTC
    undated = _memory(api, "The user hiked Snowdon")
    assert dated["event_time"] == "2022-07-14T08:00:00Z"
    assert naive["event_time"] == "2023-05-02T10:00:00Z"
    assert undated["event_time"] == undated["create_time"]  # default: when it was written
    assert api.get(f"/v1/memories/{dated['id']}").json()["event_time"] == "2022-07-14T08:00:00Z"
    assert [m["event_time"] for m in api.get("/v1/memories", params={"scope.user_id": "u1", "scope.app": "travel"})
            .json()["items"] if m["id"] == dated["id"]] == ["2022-07-14T08:00:00Z"]  # fmt: skip
    for mode in ("hybrid", "keyword", "semantic"):
        found = _search(api, "hiked", mode=mode, after="2022-01-01T00:00:00Z", before="2023-01-01T00:00:00Z")
        assert [r["memory"]["id"] for r in found] == [dated["id"]], mode
    assert {r["memory"]["id"] for r in _search(api, "hiked", after="2022-07-14T08:00:00Z")} == {
        dated["id"], naive["id"], undated["id"],
    }  # fmt: skip
    assert [r["memory"]["id"] for r in _search(api, "hiked", before="2022-07-14T08:00:00Z")] == []
    # a PATCH moves it, and search follows the record
    moved = api.patch(f"/v1/memories/{dated['id']}", json={"event_time": "2021-03-01T00:00:00Z"})
    assert moved.status_code == 200 and moved.json()["event_time"] == "2021-03-01T00:00:00Z"
    assert [r["memory"]["id"] for r in _search(api, "hiked", before="2022-01-01T00:00:00Z")] == [dated["id"]]
    # tenant B sees none of it, whatever the window
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "hiked", "after": "2000-01-01T00:00:00Z"},
                    headers=B)  # fmt: skip
    assert resp.status_code == 200 and resp.json()["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"after": "2023-01-01T00:00:00Z", "before": "2022-01-01T00:00:00Z"}, ""),
        ({"after": "not a date"}, "after"),
    ],
)
def test_bad_time_windows_are_422_naming_the_field(api, body, field) -> None:  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "x", **body})
    assert resp.status_code == 422, resp.text
    assert any(e["field"].startswith(field) for e in resp.json()["errors"]), resp.json()


def test_bad_event_time_on_create_is_422(api) -> None:
    resp = api.post("/v1/memories", json={"scope": SCOPE, "fact": "x", "event_time": "yesterday"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "event_time"


def test_metadata_filters_on_search(api) -> None:
    red = _memory(api, "The user booked a hotel in Rome", metadata={"color": "red", "stars": 4, "tags": ["x", "y"]})
    blue = _memory(api, "The user booked a hotel in Oslo", metadata={"color": "blue", "stars": 2})
    _memory(api, "The user booked a hotel in Lima", metadata={"color": {"nested": 1}})

    def found(flt):  # type: ignore[no-untyped-def]
        return sorted(r["memory"]["id"] for r in _search(api, "hotel", filter=flt))

    assert found({"metadata.color": "red"}) == [red["id"]]
    assert found({"metadata.color": {"in": ["red", "blue"]}}) == sorted([red["id"], blue["id"]])
    assert found({"metadata.stars": {"gte": 3}}) == [red["id"]]
    assert found({"metadata.stars": {"lte": 4}, "metadata.color": "blue"}) == [blue["id"]]
    assert found({"metadata.tags": "y"}) == [red["id"]]
    assert found({"metadata.color.nested": 1}) == []  # nested objects are not filterable
    # the record decides when the index lags a metadata change
    api.patch(f"/v1/memories/{red['id']}", json={"metadata": {"color": "green"}})
    assert found({"metadata.color": "red"}) == []
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "hotel", "filter": {"metadata.color": "blue"}},
                    headers=B)  # fmt: skip
    assert resp.status_code == 200 and resp.json()["results"] == []


@pytest.mark.parametrize(
    "flt",
    [
        {"color": "red"},  # not metadata.<key>
        {"metadata.": "red"},
        {"metadata.n": {"gt": 1}},
        {"metadata.n": {"gte": "a"}},
        {"metadata.n": {"gte": 5, "lte": 1}},
        {"metadata.n": {"in": []}},
        {"metadata.n": {"in": list(range(limits.MAX_FILTER_VALUES + 1))}},
        {"metadata.n": None},
        {"metadata.n": [1, 2]},
        {f"metadata.k{i}": i for i in range(limits.MAX_FILTER_CONDITIONS + 1)},
    ],
)
def test_bad_filters_are_422_naming_the_field(api, flt) -> None:  # type: ignore[no-untyped-def]
    resp = api.post("/v1/memories/search", json={"scope": SCOPE, "query": "x", "filter": flt})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"].startswith("filter"), resp.json()
