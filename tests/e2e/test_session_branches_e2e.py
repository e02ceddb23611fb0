"""Checkpoints and forks over real HTTP against `contextiq local`, with the fork's events indexed as episodes
through the stream indexer (they stay searchable after the source is deleted)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import KEY_B, Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _search(c: httpx.Client, query: str, want: int, timeout: float = 60.0) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        body = {"user_id": "e2e-forks", "query": query, "mode": "keyword", "top_k": 20}
        results = c.post("/v1/events/search", json=body).json()["results"]
        if len(results) >= want or time.monotonic() > deadline:
            return results  # type: ignore[no-any-return]
        time.sleep(0.3)


def test_checkpoint_fork_and_independence_over_http(server: Server) -> None:
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "e2e-forks", "state": {"plan": "a"}}).json()["id"]
        for i, text in enumerate(["book a flight to Reykjavik", "window seat please", "and a hotel"], 1):
            body = {"author": "user", "content": {"text": text}, "state_delta": {"step": i}}
            assert c.post(f"/v1/sessions/{sid}/events", json=body).status_code == 201
        cp = c.post(f"/v1/sessions/{sid}/checkpoints", json={"name": "after-3"}, headers={"Idempotency-Key": "cp-1"})
        assert cp.status_code == 201, cp.text
        assert cp.json()["seq"] == 3 and cp.json()["state"] == {"plan": "a", "step": 3}
        c.patch(f"/v1/sessions/{sid}/state", json={"set": {"plan": "b"}})
        assert (
            c.get(f"/v1/sessions/{sid}/checkpoints").json()["items"][0]["checkpoint_id"] == cp.json()["checkpoint_id"]
        )

        fork = c.post(f"/v1/sessions/{sid}/fork", json={"checkpoint_id": cp.json()["checkpoint_id"]})
        assert fork.status_code == 201, fork.text
        fid = fork.json()["id"]
        assert fork.json()["state"] == {"plan": "a", "step": 3}
        at2 = c.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2}).json()
        assert at2["state"] == {"plan": "a", "step": 2} and at2["event_count"] == 2

        # the fork's events are indexed as its own episodes
        found = _search(c, "Reykjavik", want=3)
        assert {r["event"]["session_id"] for r in found} == {sid, fid, at2["id"]}

        c.post(f"/v1/sessions/{fid}/events", json={"author": "user", "content": {"text": "fork only"}})
        assert len(c.get(f"/v1/sessions/{sid}/events").json()["items"]) == 3
        assert c.delete(f"/v1/sessions/{sid}").status_code == 204
        events = c.get(f"/v1/sessions/{fid}/events").json()["items"]
        assert [e["seq"] for e in events] == [1, 2, 3, 4] and events[0]["source"]["session_id"] == sid
        deadline = time.monotonic() + 30
        while {r["event"]["session_id"] for r in _search(c, "Reykjavik", want=0)} != {fid, at2["id"]}:
            assert time.monotonic() < deadline, "the source's episodes were not removed"
            time.sleep(0.3)
    with server.client(KEY_B) as other:
        assert other.get(f"/v1/sessions/{fid}/checkpoints").status_code == 404
        assert other.post(f"/v1/sessions/{fid}/fork", json={"at_seq": 1}).status_code == 404
