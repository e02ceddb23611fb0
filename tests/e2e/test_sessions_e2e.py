"""Sessions over real HTTP against `contextiq local` (uvicorn + moto server)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import KEY_B, Server, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_session_lifecycle(server: Server) -> None:
    with server.client() as c:
        created = c.post("/v1/sessions", json={"user_id": "u1", "app_name": "travel", "state": {"step": 1}})
        assert created.status_code == 201
        sid = created.json()["id"]
        assert created.headers["location"] == f"/v1/sessions/{sid}"
        ev = c.post(
            f"/v1/sessions/{sid}/events",
            json={"author": "user", "role": "user", "content": {"text": "hello"}, "state_delta": {"step": 2}},
        )
        assert ev.status_code == 201 and ev.json()["seq"] == 1
        assert c.get(f"/v1/sessions/{sid}").json()["state"] == {"step": 2}
        patched = c.patch(f"/v1/sessions/{sid}/state", json={"set": {"x": 1}}, headers={"If-Match": '"2"'})
        assert patched.status_code == 200
        stale = c.patch(f"/v1/sessions/{sid}/state", json={"set": {"x": 2}}, headers={"If-Match": '"2"'})
        assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
        assert c.delete(f"/v1/sessions/{sid}").status_code == 204
        assert c.get(f"/v1/sessions/{sid}").status_code == 404


def test_fifty_concurrent_appends_over_http(server: Server) -> None:
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "u-concurrent"}).json()["id"]

        def append(i: int) -> int:
            r = c.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": f"m{i}"}})
            assert r.status_code == 201, r.text
            return int(r.json()["seq"])

        with ThreadPoolExecutor(max_workers=25) as pool:
            seqs = sorted(pool.map(append, range(50)))
        assert seqs == list(range(1, 51))
        items = c.get(f"/v1/sessions/{sid}/events?limit=100").json()["items"]
        assert [e["seq"] for e in items] == list(range(1, 51))
        assert {e["content"]["text"] for e in items} == {f"m{i}" for i in range(50)}


def test_idempotent_retry_over_http(server: Server) -> None:
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "u-idem"}).json()["id"]
        body = {"author": "user", "content": {"text": "pay once"}}
        first = c.post(f"/v1/sessions/{sid}/events", json=body, headers={"Idempotency-Key": "retry-1"})
        second = c.post(f"/v1/sessions/{sid}/events", json=body, headers={"Idempotency-Key": "retry-1"})
        assert first.json() == second.json()
        assert c.get(f"/v1/sessions/{sid}").json()["event_count"] == 1


def test_tenants_are_isolated_over_http(server: Server) -> None:
    with server.client() as a, server.client(KEY_B) as b:
        sid = a.post("/v1/sessions", json={"user_id": "shared-name"}).json()["id"]
        assert b.get(f"/v1/sessions/{sid}").status_code == 404
        assert b.post(f"/v1/sessions/{sid}/events", json={"author": "x", "content": {"text": "y"}}).status_code == 404
        assert b.delete(f"/v1/sessions/{sid}").status_code == 404
        assert b.get("/v1/sessions?user_id=shared-name").json()["items"] == []
        assert a.get(f"/v1/sessions/{sid}").status_code == 200
        assert a.get("/v1/sessions?user_id=u1", headers={"x-api-key": "wrong"}).status_code == 403


def test_ctrl_c_stops_cleanly_and_a_restart_starts_consistent(tmp_path) -> None:
    env = {"CONTEXTIQ_EMBEDDER": "hashing"}
    srv = start_server(tmp_path / "stop", "--no-workers", env=env)
    with srv.client() as c:
        assert c.post("/v1/sessions", json={"user_id": "u"}).status_code == 201
        assert (
            c.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user owns a kayak"}).status_code == 201
        )
    assert stop_server(srv) == 0
    assert "Traceback" not in srv.log.read_text()
    assert not (tmp_path / "stop" / "local.json").exists()
    # the tables are kept (see test_local_runtime_e2e.py); the rebuilt index matches them exactly
    again = start_server(tmp_path / "stop", "--no-workers", env=env)
    with again.client() as c:
        found = c.post("/v1/memories/search", json={"scope": {"user_id": "u"}, "query": "kayak", "mode": "keyword"})
        assert found.status_code == 200
        assert [r["memory"]["fact"] for r in found.json()["results"]] == ["The user owns a kayak"]
        assert (
            c.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user owns a canoe"}).status_code == 201
        )
    assert stop_server(again) == 0
