"""Episodes and recall over real HTTP against `contextiq local`: events reach the index through the
local stream poller and the indexer handler, like the cloud's stream -> Lambda path."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import KEY_B, Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _until_found(c: httpx.Client, body: dict, timeout: float = 60.0) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        results = c.post("/v1/events/search", json=body).json()["results"]
        if results or time.monotonic() > deadline:
            return results  # type: ignore[no-any-return]
        time.sleep(0.3)


def test_events_become_searchable_and_recall_fuses_them(server: Server) -> None:
    with server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "e2e-recall", "app_name": "travel"}).json()["id"]
        said = c.post(
            f"/v1/sessions/{sid}/events",
            json={"author": "user", "content": {"text": "My sister Ana lives in Valparaiso"},
                  "timestamp": "2023-03-04T10:00:00Z"},
        ).json()  # fmt: skip
        found = _until_found(c, {"user_id": "e2e-recall", "query": "Valparaiso", "mode": "keyword"})
        assert [r["event"]["id"] for r in found] == [said["id"]]
        assert found[0]["event"]["session_id"] == sid and found[0]["event"]["seq"] == 1
        scope = {"user_id": "e2e-recall", "app_name": "travel"}
        recalled = c.post("/v1/recall", json={"scope": scope, "query": "Where does Ana live?"})
        assert recalled.status_code == 200, recalled.text
        assert [(r["type"], r["event"]["id"]) for r in recalled.json()["results"]] == [("event", said["id"])]
        dated = c.post("/v1/recall", json={"scope": scope, "query": "Ana", "before": "2023-01-01T00:00:00Z"})
        assert dated.json()["results"] == []
    with server.client(KEY_B) as other:  # another tenant sees nothing of it
        assert other.post("/v1/events/search", json={"user_id": "e2e-recall", "query": "Valparaiso"}).json() == {
            "results": []
        }
        assert other.post("/v1/recall", json={"scope": scope, "query": "Valparaiso"}).json()["results"] == []
    with server.client() as c:  # deleting the session removes its events
        assert c.delete(f"/v1/sessions/{sid}").status_code == 204
        assert c.post("/v1/events/search", json={"user_id": "e2e-recall", "query": "Valparaiso"}).json() == {
            "results": []
        }
