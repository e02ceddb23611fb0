"""The procedural-memory story over real HTTP against `contextiq local` (MiniLM, embedded index, the local
distiller driven by the procedure-learning queue poller)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import KEY_B, Server, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.minilm, pytest.mark.xdist_group("e2e")]
SCOPE = {"user_id": "ops", "app": "travel"}


@pytest.fixture(scope="module")
def procedural_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("e2e-procedural"))
    yield srv
    stop_server(srv)


def run(origin: str, dest: str, date: str, *, verify: bool = False) -> dict:
    steps = [
        {
            "thought": f"Look up flights from {origin} to {dest}",
            "tool": "search_flights",
            "arguments": {"origin": origin, "destination": dest, "date": date},
            "observation": f"3 flights from {origin} to {dest}. Cheapest: 89 EUR.",
        },
        {"thought": "Book the cheapest one", "tool": "book_flight", "arguments": {"fare": "cheapest"}},
    ]
    if verify:
        steps.append({"thought": "Check the booking went through", "tool": "get_booking", "arguments": {}})
    return {
        "scope": SCOPE,
        "task": f"Book a flight from {origin} to {dest} on {date}",
        "steps": steps,
        "outcome": {"status": "success"},
    }


def generate(c, ids: list[str]) -> dict:  # type: ignore[no-untyped-def]
    resp = c.post("/v1/procedures/generate", json={"scope": SCOPE, "trajectory_ids": ids, "wait_seconds": 20})
    assert resp.status_code == 200, resp.text  # finished within wait_seconds
    job = resp.json()
    assert job["status"] == "SUCCEEDED", job
    return job


def test_learn_find_deprecate_refine(procedural_server: Server) -> None:
    with procedural_server.client() as c:
        cities = [("Paris", "Rome", "2025-05-01"), ("Berlin", "Madrid", "2025-06-12"), ("Lyon", "Oslo", "2025-07-23")]
        ids = [c.post("/v1/trajectories", json=run(*x)).json()["id"] for x in cities]
        job = generate(c, ids)
        assert job["result"]["added"] == 1
        pid = job["result"]["procedure_ids"][0]
        p = c.get(f"/v1/procedures/{pid}").json()
        assert p["kind"] == "workflow" and {x["name"] for x in p["parameters"]} == {"origin", "destination", "date"}
        assert p["provenance"]["trajectory_ids"] == ids

        # a distractor, then search with a paraphrase of the task
        c.post(
            "/v1/procedures",
            json={
                "scope": SCOPE,
                "kind": "skill",
                "name": "Cancel a hotel reservation",
                "description": "Use when the guest wants to cancel their hotel room",
                "steps": [{"instruction": "Cancel the reservation", "tool": "cancel_hotel"}],
            },
        )
        found = c.post(
            "/v1/procedures/search", json={"scope": SCOPE, "query": "I need a plane ticket to Vienna", "top_k": 3}
        ).json()["results"]
        assert found[0]["procedure"]["id"] == pid, found
        md = c.get(f"/v1/procedures/{pid}", headers={"Accept": "text/markdown"})
        assert md.headers["content-type"].startswith("text/markdown") and "1. Look up flights from {origin}" in md.text

        # five failures deprecate it
        for _ in range(5):
            last = c.post(f"/v1/procedures/{pid}/feedback", json={"outcome": "failure"}).json()
        assert last["status"] == "deprecated" and last["stats"]["uses"] == 5
        hidden = c.post("/v1/procedures/search", json={"scope": SCOPE, "query": "book a flight"}).json()["results"]
        assert pid not in [r["procedure"]["id"] for r in hidden]

        # a better run updates it: new steps, a new revision, active again
        better = c.post("/v1/trajectories", json=run("Nice", "Porto", "2025-09-09", verify=True)).json()["id"]
        job = generate(c, [better])
        assert job["result"]["updated"] == 1 and job["result"]["procedure_ids"] == [pid]
        p = c.get(f"/v1/procedures/{pid}").json()
        assert p["status"] == "active" and [s["tool"] for s in p["steps"]][-1] == "get_booking"
        actions = [r["action"] for r in c.get(f"/v1/procedures/{pid}/revisions").json()["items"]]
        assert actions == ["CREATED", "DEPRECATED", "UPDATED"]
        again = c.post("/v1/procedures/search", json={"scope": SCOPE, "query": "book a flight"}).json()["results"]
        assert again[0]["procedure"]["id"] == pid

        # another tenant: 404 on every id, nothing found
        with procedural_server.client(KEY_B) as other:
            assert other.get(f"/v1/procedures/{pid}").status_code == 404
            assert other.get(f"/v1/trajectories/{ids[0]}").status_code == 404
            assert other.post(f"/v1/procedures/{pid}/feedback", json={"outcome": "success"}).status_code == 404
            assert other.get(f"/v1/jobs/{job['id']}").status_code == 404
            body = {"scope": SCOPE, "query": "book a flight"}
            assert other.post("/v1/procedures/search", json=body).json()["results"] == []
