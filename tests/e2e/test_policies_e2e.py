"""Generation policies over real HTTP against `contextiq local`: the policy function runs from the sessions
table's stream (its own poller) and the delayed idle queue, as in the cloud; no generate call anywhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

FACTS = [
    "I am vegetarian.",
    "I live in Lisbon.",
    "My favourite colour is green.",
    "I work as a nurse.",
    "I have a dog called Max.",
]


def _until(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def _session(c: httpx.Client, user: str, **body: Any) -> str:
    resp = c.post("/v1/sessions", json={"user_id": user, **body})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _say(c: httpx.Client, sid: str, text: str) -> None:
    resp = c.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}})
    assert resp.status_code == 201, resp.text


def _jobs(c: httpx.Client, sid: str) -> list[dict[str, Any]]:
    resp = c.get("/v1/jobs", params={"session_id": sid, "limit": 100})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def test_every_5_events_gives_memories_after_10_appends_without_a_generate_call(server: Server) -> None:
    with server.client() as c:
        assert c.put("/v1/generation-policies/policy-e2e", json={"every_n_events": 5}).status_code == 200
        sid = _session(c, "pat", app_name="policy-e2e")
        for i in range(10):
            _say(c, sid, FACTS[i % 5] if i < 5 else f"Let us talk about item number {i}.")

        def searchable() -> bool:
            hits = c.post("/v1/memories/search", json={"scope": {"user_id": "pat"}, "query": "vegetarian"}).json()
            return any("vegetarian" in r["memory"]["fact"].lower() for r in hits["results"])

        _until(searchable)

        def both_finished() -> list[dict[str, Any]]:
            jobs = _jobs(c, sid)
            return jobs if len(jobs) >= 2 and all(j["status"] in ("SUCCEEDED", "FAILED") for j in jobs) else []

        jobs = _until(both_finished)
        assert [(j["trigger"], j["status"]) for j in jobs] == [("every_n_events", "SUCCEEDED")] * 2, jobs
        session = c.get(f"/v1/sessions/{sid}").json()
        assert session["last_generated_seq"] == 10 and session["last_job_id"] == jobs[-1]["id"]


def test_concurrent_appends_crossing_the_threshold_give_exactly_one_job_per_window(server: Server) -> None:
    with server.client() as c:
        sid = _session(c, "race", generation_policy={"every_n_events": 5})
    appends = 20

    def append(i: int) -> None:
        with server.client() as worker:
            _say(worker, sid, f"Concurrent note {i}: I like hiking.")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(appends)))
    with server.client() as c:
        _until(lambda: c.get(f"/v1/sessions/{sid}").json()["last_generated_seq"] == appends)
        time.sleep(1.5)  # let the stream consumer see every record: none may add a job
        jobs = _jobs(c, sid)
        assert len(jobs) == appends // 5, jobs
        assert len({j["id"] for j in jobs}) == len(jobs)


def test_concurrent_appends_crossing_the_threshold_once_give_exactly_one_job(server: Server) -> None:
    """3 appends, then 6 at once: the threshold of 5 is crossed once (9 < 10), by whichever append is 5th."""
    with server.client() as c:
        sid = _session(c, "cross", generation_policy={"every_n_events": 5})
        for i in range(3):
            _say(c, sid, f"Warm-up note {i}.")

    def append(i: int) -> None:
        with server.client() as worker:
            _say(worker, sid, f"Crossing note {i}: I like sailing.")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append, range(6)))
    with server.client() as c:
        _until(lambda: c.get(f"/v1/sessions/{sid}").json()["last_generated_seq"] == 5)
        time.sleep(1.5)  # every append's record has been seen: none may add a job
        jobs = _jobs(c, sid)
        assert [j["trigger"] for j in jobs] == ["every_n_events"], jobs
        session = c.get(f"/v1/sessions/{sid}").json()
        assert (session["event_count"], session["last_generated_seq"], session["last_job_id"]) == (9, 5, jobs[0]["id"])


def test_an_idle_policy_fires_once(server: Server) -> None:
    with server.client() as c:
        sid = _session(c, "quiet", generation_policy={"idle_seconds": 2})
        _say(c, sid, FACTS[0])
        _say(c, sid, FACTS[1])
        jobs = _until(lambda: _jobs(c, sid), timeout=60)
        assert [j["trigger"] for j in jobs] == ["idle"]
        time.sleep(4)  # both appends armed a check; the first found a later append, the second fired
        assert len(_jobs(c, sid)) == 1
        assert c.get(f"/v1/sessions/{sid}").json()["last_generated_seq"] == 2


def test_other_tenants_see_no_policies_or_jobs(server: Server) -> None:
    from tests.e2e.conftest import KEY_B

    with server.client() as a, server.client(KEY_B) as b:
        assert a.put("/v1/generation-policies/secret-app", json={"idle_seconds": 60}).status_code == 200
        assert b.get("/v1/generation-policies/secret-app").status_code == 404
        sid = _session(a, "owner", generation_policy={"every_n_events": 1})
        _say(a, sid, FACTS[2])
        _until(lambda: _jobs(a, sid))
        assert b.get("/v1/jobs", params={"session_id": sid}).json()["items"] == []
        assert b.patch(f"/v1/sessions/{sid}", json={"generation_policy": None}).status_code == 404
