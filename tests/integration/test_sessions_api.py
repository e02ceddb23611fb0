"""The sessions API over HTTP (FastAPI TestClient) against moto DynamoDB through boto3."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from contextiq import limits
from tests.conftest import TENANT_B_KEY

B = {"x-api-key": TENANT_B_KEY}


def _session(api, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/sessions", json={"user_id": "u1", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _event(api, sid, text="hi", **body):  # type: ignore[no-untyped-def]
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_get_session(api) -> None:
    created = _session(api, app_name="travel", state={"k": 1}, metadata={"m": "v"}, ttl_seconds=3600)
    assert created["version"] == 1 and created["state"] == {"k": 1} and created["expire_time"]
    got = api.get(f"/v1/sessions/{created['id']}")
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    assert got.json() == created


def test_missing_or_unknown_api_key_is_403(api) -> None:
    assert api.get("/v1/sessions?user_id=u1", headers={"x-api-key": ""}).status_code == 403
    resp = api.get("/v1/sessions?user_id=u1", headers={"x-api-key": "nope"})
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"


def test_events_get_consecutive_seqs_and_list_in_order(api) -> None:
    sid = _session(api)["id"]
    seqs = [_event(api, sid, f"m{i}")["seq"] for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    page = api.get(f"/v1/sessions/{sid}/events?limit=2").json()
    assert [e["seq"] for e in page["items"]] == [1, 2] and page["next_token"]
    page2 = api.get(f"/v1/sessions/{sid}/events?limit=2&next_token={page['next_token']}").json()
    assert [e["seq"] for e in page2["items"]] == [3, 4]
    after = api.get(f"/v1/sessions/{sid}/events?after_seq=3").json()
    assert [e["content"]["text"] for e in after["items"]] == ["m3", "m4"]


def test_state_delta_is_applied_with_the_event(api) -> None:
    sid = _session(api, state={"a": 1, "b": 2})["id"]
    _event(api, sid, state_delta={"a": 10, "b": None, "c": [1, 2]})
    session = api.get(f"/v1/sessions/{sid}").json()
    assert session["state"] == {"a": 10, "c": [1, 2]}
    assert session["version"] == 2 and session["event_count"] == 1


def test_concurrent_appends_get_gapless_unique_seqs(api) -> None:
    sid = _session(api)["id"]

    def append(i: int) -> int:
        resp = api.post(
            f"/v1/sessions/{sid}/events",
            json={"author": "user", "content": {"text": f"m{i}"}, "state_delta": {f"k{i}": i}},
        )
        assert resp.status_code == 201, resp.text
        return int(resp.json()["seq"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        seqs = list(pool.map(append, range(50)))
    assert sorted(seqs) == list(range(1, 51))
    events = api.get(f"/v1/sessions/{sid}/events?limit=100").json()["items"]
    assert [e["seq"] for e in events] == list(range(1, 51))
    assert sorted(e["content"]["text"] for e in events) == sorted(f"m{i}" for i in range(50))
    state = api.get(f"/v1/sessions/{sid}").json()["state"]
    assert state == {f"k{i}": i for i in range(50)}  # no lost state update either


def test_patch_state_with_if_match(api) -> None:
    sid = _session(api, state={"a": 1})["id"]
    ok = api.patch(f"/v1/sessions/{sid}/state", json={"set": {"b": 2}, "remove": ["a"]}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == {"b": 2} and ok.headers["etag"] == '"2"'
    stale = api.patch(f"/v1/sessions/{sid}/state", json={"set": {"c": 3}}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["errors"][0]["field"] == "header.If-Match"
    assert api.get(f"/v1/sessions/{sid}").json()["state"] == {"b": 2}  # nothing written
    bad = api.patch(f"/v1/sessions/{sid}/state", json={"set": {}}, headers={"If-Match": "abc"})
    assert bad.status_code == 422


def test_idempotent_retry_returns_first_response_and_writes_once(api) -> None:
    sid = _session(api)["id"]
    body = {"author": "user", "content": {"text": "once"}}
    first = api.post(f"/v1/sessions/{sid}/events", json=body, headers={"Idempotency-Key": "k-1"})
    again = api.post(f"/v1/sessions/{sid}/events", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(api.get(f"/v1/sessions/{sid}/events").json()["items"]) == 1
    other = api.post(
        f"/v1/sessions/{sid}/events",
        json={**body, "content": {"text": "x"}},
        headers={"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422
    created = [
        api.post("/v1/sessions", json={"user_id": "u9"}, headers={"Idempotency-Key": "s-1"}).json()["id"]
        for _ in range(3)
    ]
    assert len(set(created)) == 1
    assert len(api.get("/v1/sessions?user_id=u9").json()["items"]) == 1


def test_idempotency_keys_are_per_tenant(api) -> None:
    a = api.post("/v1/sessions", json={"user_id": "u1"}, headers={"Idempotency-Key": "same"})
    b = api.post("/v1/sessions", json={"user_id": "u1"}, headers={"Idempotency-Key": "same", **B})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_list_sessions_by_user_and_app_with_pages(api) -> None:
    ids = [_session(api, app_name="travel")["id"] for _ in range(3)]
    _session(api, app_name="food")
    _session(api, user_id="u2") if False else api.post("/v1/sessions", json={"user_id": "u2"})
    travel = api.get("/v1/sessions?user_id=u1&app_name=travel&limit=2").json()
    assert len(travel["items"]) == 2 and travel["next_token"]
    rest = api.get(f"/v1/sessions?user_id=u1&app_name=travel&limit=2&next_token={travel['next_token']}").json()
    assert [s["id"] for s in travel["items"] + rest["items"]] == ids
    assert len(api.get("/v1/sessions?user_id=u1").json()["items"]) == 4
    assert api.get("/v1/sessions").status_code == 422  # user_id is required


def test_delete_removes_session_and_events(api, container) -> None:
    sid = _session(api)["id"]
    for i in range(30):
        _event(api, sid, f"m{i}")
    assert api.delete(f"/v1/sessions/{sid}").status_code == 204
    assert api.get(f"/v1/sessions/{sid}").status_code == 404
    assert api.get(f"/v1/sessions/{sid}/events").status_code == 404
    assert api.delete(f"/v1/sessions/{sid}").status_code == 404
    raw = container.dynamodb.scan(TableName=container.settings.sessions_table)["Items"]
    assert not [i for i in raw if sid in i["pk"]["S"]]


def test_expired_session_is_gone(api, container) -> None:
    from datetime import timedelta

    from contextiq.ids import utcnow

    sid = _session(api, ttl_seconds=60)["id"]
    container.sessions._clock = lambda: utcnow() + timedelta(seconds=61)
    assert api.get(f"/v1/sessions/{sid}").status_code == 404
    assert api.get("/v1/sessions?user_id=u1").json()["items"] == []


# -- errors and limits --------------------------------------------------------------------------


def test_malformed_json_is_400_problem(api) -> None:
    resp = api.post("/v1/sessions", content=b"{nope", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/malformed-request")


def test_invalid_fields_are_422_and_named(api) -> None:
    resp = api.post("/v1/sessions", json={"user_id": "", "ttl_seconds": 5, "extra": 1})
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"user_id", "ttl_seconds", "extra"}
    sid = _session(api)["id"]
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {}})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "content"


def test_event_content_limit_is_413_and_nothing_is_written(api) -> None:
    sid = _session(api)["id"]
    big = "x" * (limits.MAX_EVENT_CONTENT_BYTES + 1)
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": big}})
    assert resp.status_code == 413 and resp.json()["errors"][0]["field"] == "content"
    edge = "x" * (limits.MAX_EVENT_CONTENT_BYTES - len(json.dumps({"text": ""})))
    assert api.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": edge}}).status_code == 201
    assert api.get(f"/v1/sessions/{sid}").json()["event_count"] == 1


def test_state_limit_is_413_on_create_delta_and_patch(api) -> None:
    big = {"blob": "x" * limits.MAX_STATE_BYTES}
    assert api.post("/v1/sessions", json={"user_id": "u1", "state": big}).status_code == 413
    sid = _session(api, state={"keep": True})["id"]
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "u", "content": {"text": "t"}, "state_delta": big})
    assert resp.status_code == 413
    assert api.patch(f"/v1/sessions/{sid}/state", json={"set": big}).status_code == 413
    session = api.get(f"/v1/sessions/{sid}").json()
    assert session["state"] == {"keep": True} and session["event_count"] == 0


def test_metadata_key_limit(api) -> None:
    ok = {f"k{i}": i for i in range(limits.MAX_METADATA_KEYS)}
    assert api.post("/v1/sessions", json={"user_id": "u1", "metadata": ok}).status_code == 201
    too_many = {**ok, "one_more": 1}
    resp = api.post("/v1/sessions", json={"user_id": "u1", "metadata": too_many})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "metadata"


def test_page_size_limit(api) -> None:
    sid = _session(api)["id"]
    assert api.get(f"/v1/sessions/{sid}/events?limit=100").status_code == 200
    resp = api.get(f"/v1/sessions/{sid}/events?limit=101")
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "query.limit"
    assert api.get("/v1/sessions?user_id=u1&limit=0").status_code == 422


def test_request_body_limit_is_413(api) -> None:
    body = b'{"user_id": "u1", "metadata": {"x": "' + b"y" * limits.MAX_REQUEST_BODY_BYTES + b'"}}'
    resp = api.post("/v1/sessions", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 413


def test_forged_next_token_is_rejected(api) -> None:
    import base64

    sid = _session(api)["id"]
    forged = base64.urlsafe_b64encode(json.dumps({"pk": "T#tenant-b#S#x", "sk": "E#1"}).encode()).decode()
    resp = api.get(f"/v1/sessions/{sid}/events?next_token={forged}")
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "query.next_token"
    assert api.get(f"/v1/sessions/{sid}/events?next_token=%%%").status_code == 422


# -- tenancy: every endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/sessions/{sid}", None),
        ("DELETE", "/v1/sessions/{sid}", None),
        ("POST", "/v1/sessions/{sid}/events", {"author": "x", "content": {"text": "intrude"}}),
        ("GET", "/v1/sessions/{sid}/events", None),
        ("PATCH", "/v1/sessions/{sid}/state", {"set": {"owned": True}}),
    ],
)
def test_other_tenants_session_is_404_and_untouched(api, method, path, body) -> None:
    sid = _session(api, state={"mine": 1})["id"]
    _event(api, sid, "secret")
    resp = api.request(method, path.format(sid=sid), json=body, headers=B)
    assert resp.status_code == 404
    assert "secret" not in resp.text
    session = api.get(f"/v1/sessions/{sid}").json()
    assert session["state"] == {"mine": 1} and session["event_count"] == 1 and session["version"] == 2


def test_other_tenant_cannot_list_sessions(api) -> None:
    _session(api)
    assert api.get("/v1/sessions?user_id=u1", headers=B).json()["items"] == []
    a_page = api.get("/v1/sessions?user_id=u1&limit=1")
    _session(api)
    token = api.get("/v1/sessions?user_id=u1&limit=1").json()["next_token"]
    assert a_page.status_code == 200 and token
    resp = api.get(f"/v1/sessions?user_id=u1&limit=1&next_token={token}", headers=B)
    assert resp.status_code == 422  # a token from tenant A's listing does not open tenant B's


def test_openapi_is_served(api) -> None:
    spec = api.get("/openapi.json").json()
    assert "/v1/sessions/{session_id}/events" in spec["paths"]
