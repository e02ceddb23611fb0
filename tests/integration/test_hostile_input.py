"""Hostile input (issue 11): nothing a client sends can break a later read or answer 5xx."""

from __future__ import annotations

import base64
import json

import pytest

from contextiq import limits

JSON = {"content-type": "application/json"}


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def _session(api, **body):  # type: ignore[no-untyped-def]
    resp = api.post("/v1/sessions", json={"user_id": "u1", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _raw(api, method: str, url: str, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return api.request(method, url, content=body, headers={**JSON, **headers})


def _fields(resp) -> set[str]:  # type: ignore[no-untyped-def]
    return {e["field"] for e in resp.json()["errors"]}


# -- 1. depth -----------------------------------------------------------------------------------------


def test_deep_json_is_refused_up_front_everywhere(api) -> None:
    sid = _session(api)["id"]
    deep = _deep(300)
    cases = [
        ("POST", "/v1/sessions", {"user_id": "u1", "state": deep}, "state"),
        ("PATCH", f"/v1/sessions/{sid}/state", {"set": {"k": deep}}, "set.k"),
        (
            "POST",
            f"/v1/sessions/{sid}/events",
            {"author": "u", "content": {"text": "x"}, "state_delta": deep},
            "state_delta",
        ),
        ("POST", f"/v1/sessions/{sid}/events", {"author": "u", "content": {"parts": [deep]}}, "content.parts.0"),
        ("POST", "/v1/memories", {"scope": {"user_id": "u1"}, "fact": "f", "metadata": {"m": deep}}, "metadata.m"),
    ]
    for method, url, body, prefix in cases:
        resp = api.request(method, url, json=body)
        assert resp.status_code == 422, (url, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        (field,) = _fields(resp)
        assert field.startswith(prefix) and "nested deeper than 32" in resp.text, (url, field)
    # nothing was stored: the user's listings still read
    assert api.get("/v1/sessions?user_id=u1").status_code == 200
    assert api.get("/v1/memories?scope.user_id=u1").json()["items"] == []
    # at the limit it is accepted and reads back unchanged
    ok = _deep(limits.MAX_JSON_DEPTH - 2)  # body (1) > state (2) > ... 32
    created = _session(api, state=ok)
    assert api.get(f"/v1/sessions/{created['id']}").json()["state"] == ok


def test_very_deep_json_is_422_not_a_parser_crash(api) -> None:
    body = b'{"user_id": "u", "state": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    resp = _raw(api, "POST", "/v1/sessions", body)
    assert resp.status_code == 422 and "deeper than 32" in resp.text


def test_records_stored_before_the_limit_stay_readable(api, container) -> None:
    """A session, event and memory stored deeper than the limit (the old poison) read back with the deep
    part as JSON text, instead of answering 500 on every read of the user."""
    from contextiq.ids import isoformat, new_id, utcnow
    from contextiq.models.memories import scope_key
    from contextiq.stores.dynamo.base import dumps, to_item

    sid = _session(api, user_id="victim")["id"]
    assert api.post(f"/v1/sessions/{sid}/events", json={"author": "u", "content": {"text": "hi"}}).status_code == 201
    mid = api.post("/v1/memories", json={"scope": {"user_id": "victim"}, "fact": "likes tea"}).json()["id"]
    ddb, s_table, m_table = container.dynamodb, container.settings.sessions_table, container.settings.memories_table
    poison = dumps(_deep(300))
    ddb.update_item(
        TableName=s_table,
        Key=to_item({"pk": f"T#tenant-a#S#{sid}", "sk": "SESSION"}),
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":p": {"S": poison}},
    )
    ddb.update_item(
        TableName=s_table,
        Key=to_item({"pk": f"T#tenant-a#S#{sid}", "sk": "E#0000000001"}),
        UpdateExpression="SET content = :p",
        ExpressionAttributeValues={":p": {"S": dumps({"parts": [_deep(300)]})}},
    )
    ddb.update_item(
        TableName=m_table,
        Key=to_item({"pk": f"T#tenant-a#M#{mid}", "sk": "MEMORY"}),
        UpdateExpression="SET metadata = :p",
        ExpressionAttributeValues={":p": {"S": poison}},
    )
    assert scope_key({"user_id": "victim"}) and isoformat(utcnow()) and new_id()
    session = api.get(f"/v1/sessions/{sid}")
    assert session.status_code == 200
    clipped = session.json()["state"]
    for _ in range(limits.MAX_JSON_DEPTH):
        if isinstance(clipped, str):
            break
        clipped = clipped["a"]
    assert isinstance(clipped, str) and json.loads(clipped)["a"]  # nothing lost: the rest as JSON text
    assert api.get("/v1/sessions?user_id=victim").status_code == 200
    assert api.get(f"/v1/sessions/{sid}/events").status_code == 200
    assert api.get(f"/v1/memories/{mid}").status_code == 200
    assert api.get("/v1/memories?scope.user_id=victim").status_code == 200
    found = api.post("/v1/memories/search", json={"scope": {"user_id": "victim"}, "query": "tea"})
    assert found.status_code == 200 and found.json()["results"]


# -- 2. 5xx inputs, 4. silently changed numbers, 6. statuses --------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"author": "u", "content": {"text": "a\\ud800b"}}', "content.text"),
        (b'{"author": "u", "content": {"parts": [{"t": "a\\udc00"}]}}', "content.parts.0.t"),
        (b'{"author": "u", "content": {"text": "x"}, "state_delta": {"k\\ud800": 1}}', "state_delta.k\\ud800"),
        (b'{"author": "u", "content": {"text": "x"}, "state_delta": {"k": "\\ud800"}}', "state_delta.k"),
        (b'{"author": "u", "content": {"text": "x"}, "metadata": {"n": NaN}}', "metadata.n"),
        (b'{"author": "u", "content": {"text": "x"}, "metadata": {"n": Infinity}}', "metadata.n"),
        (b'{"author": "u", "content": {"parts": [{"n": -Infinity}]}}', "content.parts.0.n"),
        (b'{"author": "u", "content": {"text": "x"}, "state_delta": {"n": 1e400}}', "state_delta.n"),
        (b'{"author": "u", "content": {"text": "x"}, "state_delta": {"n": ' + b"7" * 5000 + b"}}", "state_delta.n"),
    ],
)
def test_bad_values_are_422_naming_the_field(api, body: bytes, field: str) -> None:
    sid = _session(api)["id"]
    resp = _raw(api, "POST", f"/v1/sessions/{sid}/events", body)
    assert resp.status_code == 422, resp.text
    assert field in _fields(resp)
    assert api.get(f"/v1/sessions/{sid}").json()["event_count"] == 0


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_timestamps_at_the_edge_of_the_range_are_422(api, stamp: str) -> None:
    sid = _session(api)["id"]
    resp = api.post(f"/v1/sessions/{sid}/events", json={"author": "u", "content": {"text": "x"}, "timestamp": stamp})
    assert resp.status_code == 422 and "timestamp" in _fields(resp)
    inside = api.post(
        f"/v1/sessions/{sid}/events",
        json={"author": "u", "content": {"text": "x"}, "timestamp": "9999-12-31T23:59:59+00:00"},
    )
    assert inside.status_code == 201 and inside.json()["timestamp"].startswith("9999-12-31T23:59:59")
    assert api.get(f"/v1/sessions/{sid}/events").status_code == 200


def test_invalid_utf8_is_400_naming_the_body(api) -> None:
    resp = _raw(api, "POST", "/v1/sessions", b'{"user_id": "u", "state": {"x": "\xff"}}')
    assert resp.status_code == 400 and "UTF-8" in resp.json()["detail"] and _fields(resp) == {"body"}


def test_chunked_body_over_the_limit_is_413(api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"user_id": "u", "state": {"x": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}}'

    resp = api.post("/v1/sessions", content=chunks(), headers=JSON)
    assert resp.status_code == 413, resp.text


def test_options_and_405_allow_every_method_of_the_path(api) -> None:
    resp = api.request("PUT", "/v1/sessions")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, OPTIONS, POST"
    resp = api.options("/v1/memories/m1")
    assert resp.status_code == 204 and resp.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"


def test_allow_names_the_resource_api_gateway_would_pick(api) -> None:
    """/v1/memories/search is its own resource behind API Gateway (POST only), not a {memory_id}: the local
    Allow says the same as the cloud's mock (infra/components/api.py); /openapi.json answers GET."""
    resp = api.options("/v1/memories/search")
    assert resp.status_code == 204 and resp.headers["allow"] == "OPTIONS, POST"
    resp = api.request("PUT", "/v1/memories/search")
    assert resp.status_code == 405 and resp.headers["allow"] == "OPTIONS, POST"
    assert resp.headers["content-type"] == "application/problem+json"
    assert api.options("/openapi.json").headers["allow"] == "GET, OPTIONS"


# -- 3. page tokens ------------------------------------------------------------------------------------


def test_page_tokens_are_opaque_and_bound_to_their_listing(api) -> None:
    for app in ("a1", "a1", "a1", "a2"):
        _session(api, app_name=app)
    page = api.get("/v1/sessions?user_id=u1&app_name=a1&limit=1").json()
    token = page["next_token"]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"tenant-a" not in raw and b"gsi1" not in raw  # opaque
    assert api.get(f"/v1/sessions?user_id=u1&app_name=a1&limit=1&next_token={token}").status_code == 200
    for other in (
        f"/v1/sessions?user_id=u1&app_name=a2&limit=1&next_token={token}",
        f"/v1/sessions?user_id=u1&limit=1&next_token={token}",
        f"/v1/sessions?user_id=u2&app_name=a1&limit=1&next_token={token}",
    ):
        resp = api.get(other)
        assert resp.status_code == 422 and _fields(resp) == {"query.next_token"}, other
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert api.get(f"/v1/sessions?user_id=u1&app_name=a1&next_token={tampered}").status_code == 422


def test_event_tokens_are_bound_to_after_seq_and_forgeries_never_reach_dynamodb(api, container) -> None:
    sid = _session(api)["id"]
    for i in range(3):
        api.post(f"/v1/sessions/{sid}/events", json={"author": "u", "content": {"text": str(i)}})
    token = api.get(f"/v1/sessions/{sid}/events?limit=1").json()["next_token"]
    assert api.get(f"/v1/sessions/{sid}/events?limit=1&next_token={token}").status_code == 200
    assert api.get(f"/v1/sessions/{sid}/events?limit=1&after_seq=1&next_token={token}").status_code == 422
    # the old token format, with a missing or non-string sort key: 422 before any query is made
    calls = []
    real_query = container.dynamodb.query
    container.dynamodb.query = lambda **kw: calls.append(kw) or real_query(**kw)
    try:
        for key in ({"pk": f"T#tenant-a#S#{sid}"}, {"pk": f"T#tenant-a#S#{sid}", "sk": 5}):
            forged = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
            resp = api.get(f"/v1/sessions/{sid}/events?next_token={forged}")
            assert resp.status_code == 422 and _fields(resp) == {"query.next_token"}
        assert calls == []
    finally:
        container.dynamodb.query = real_query


def test_memory_tokens_are_bound_to_scope_and_topic(api) -> None:
    for i in range(3):
        api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": f"fact {i}", "topics": ["t"]})
    token = api.get("/v1/memories?scope.user_id=u1&limit=1").json()["next_token"]
    assert api.get(f"/v1/memories?scope.user_id=u1&limit=1&next_token={token}").status_code == 200
    assert api.get(f"/v1/memories?scope.user_id=u1&topic=t&next_token={token}").status_code == 422
    assert api.get(f"/v1/memories?scope.user_id=u2&next_token={token}").status_code == 422
