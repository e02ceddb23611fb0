"""`contextiq local` keeps what it was told across a clean stop and a kill -9, holds its data directory
alone, starts empty on --reset, keeps its secrets private and its admin route away from tenants.

Counts and states only, never time (a deadline bounds waiting for a worker, nothing is timed).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KEY_A, KEY_B, Server, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_runtime")]
HASHING = {"CONTEXTIQ_EMBEDDER": "hashing"}


def kill_9(server: Server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=20)


def facts(c: httpx.Client, user: str, query: str) -> list[str]:
    found = c.post("/v1/memories/search", json={"scope": {"user_id": user}, "query": query, "mode": "keyword"})
    assert found.status_code == 200, found.text
    return sorted(h["memory"]["fact"] for h in found.json()["results"])


def event_texts(c: httpx.Client, sid: str) -> list[str]:
    page = c.get(f"/v1/sessions/{sid}/events", params={"limit": 100})
    assert page.status_code == 200, page.text
    return [e["content"]["text"] for e in page.json()["items"]]


def wait_for_job(c: httpx.Client, job_id: str, deadline_seconds: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while True:
        job: dict[str, Any] = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def test_everything_survives_a_clean_stop_and_a_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "d"
    srv = start_server(data, "--no-workers", env=HASHING)
    with srv.client() as a, srv.client(KEY_B) as b:
        sid = a.post("/v1/sessions", json={"user_id": "u", "state": {"trip": "oslo"}}).json()["id"]
        for i in range(5):
            text = f"I love kayaking, message {i}"
            assert a.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": text}}).is_success
        kayak = a.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user owns a kayak"}).json()
        patched = a.patch(
            f"/v1/memories/{kayak['id']}", json={"fact": "The user owns a red kayak"}, headers={"if-match": "1"}
        )
        assert patched.status_code == 200, patched.text
        assert b.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "Tenant B kayak fact"}).is_success
        job = a.post("/v1/memories/generate", json={"session_id": sid}).json()
        assert job["status"] in ("QUEUED", "PENDING"), job
    assert stop_server(srv) == 0
    assert not (data / "local.json").exists()

    # Clean restart, still without workers: the generation message must still be queued.
    srv = start_server(data, "--no-workers", env=HASHING)
    with srv.client() as a, srv.client(KEY_B) as b:
        assert event_texts(a, sid) == [f"I love kayaking, message {i}" for i in range(5)]
        assert a.get(f"/v1/sessions/{sid}").json()["state"] == {"trip": "oslo"}
        assert facts(a, "u", "kayak") == ["The user owns a red kayak"]
        assert facts(b, "u", "kayak") == ["Tenant B kayak fact"]
        revisions = a.get(f"/v1/memories/{kayak['id']}/revisions").json()["items"]
        assert len(revisions) == 2
        assert a.get(f"/v1/jobs/{job['job_id']}").json()["status"] == job["status"]
        assert a.post(f"/v1/sessions/{sid}/events", json={"author": "user", "content": {"text": "after"}}).is_success
        canoe = a.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user owns a kayak paddle"})
        gone = a.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user sold a kayak trailer"})
        assert a.delete(f"/v1/memories/{gone.json()['id']}").status_code == 204
        assert canoe.is_success
    kill_9(srv)

    # After kill -9, with workers: nothing told "succeeded" is missing, nothing deleted comes back,
    # and the queued generation runs.
    srv = start_server(data, env=HASHING)
    with srv.client() as a:
        assert event_texts(a, sid)[-1] == "after"
        assert len(event_texts(a, sid)) == 6
        assert facts(a, "u", "kayak") == ["The user owns a kayak paddle", "The user owns a red kayak"]
        done = wait_for_job(a, job["job_id"])
        assert done["status"] == "SUCCEEDED", done
    assert stop_server(srv) == 0
    assert "Traceback" not in srv.log.read_text()


def test_one_server_per_data_dir_and_reset_starts_empty(tmp_path: Path) -> None:
    data = tmp_path / "d"
    srv = start_server(data, "--no-workers", env=HASHING)
    try:
        with srv.client() as a:
            sid = a.post("/v1/sessions", json={"user_id": "u"}).json()["id"]
        second = subprocess.run(
            [sys.executable, "-m", "contextiq.cli", "local", "--port", "1", "--data-dir", str(data), "--reset"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **HASHING},
        )
        assert second.returncode == 1
        assert "another `contextiq local`" in second.stderr and str(srv.process.pid) in second.stderr
        with srv.client() as a:
            assert a.get(f"/v1/sessions/{sid}").status_code == 200  # the first one is untouched
        assert (data / "local.json").exists()
    finally:
        assert stop_server(srv) == 0

    srv = start_server(data, "--no-workers", "--reset", env=HASHING)
    with srv.client() as a:
        assert a.get(f"/v1/sessions/{sid}").status_code == 404
        assert a.get("/v1/sessions", params={"user_id": "u"}).json()["items"] == []
    assert stop_server(srv) == 0


def test_local_json_is_private_and_reindex_wants_the_admin_token(tmp_path: Path) -> None:
    data = tmp_path / "d"
    srv = start_server(data, "--no-workers", env=HASHING)
    try:
        state_file = data / "local.json"
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((data / "tables").stat().st_mode) == 0o700
        state = json.loads(state_file.read_text())
        with srv.client() as a:
            a.post("/v1/memories", json={"scope": {"user_id": "u"}, "fact": "The user owns a kayak"})
            for key in (KEY_A, KEY_B):
                assert a.post("/_local/reindex", headers={"x-api-key": key}).status_code == 403
            wrong = a.post("/_local/reindex", headers={"x-contextiq-admin": state["admin_token"] + "x"})
            assert wrong.status_code == 403
            ok = a.post("/_local/reindex", headers={"x-contextiq-admin": state["admin_token"]})
            assert ok.status_code == 200 and ok.json()["upserted"] == 1
            assert facts(a, "u", "kayak") == ["The user owns a kayak"]
    finally:
        assert stop_server(srv) == 0


def said(c: httpx.Client, user: str, query: str) -> list[str]:
    found = c.post("/v1/events/search", json={"user_id": user, "query": query, "mode": "keyword", "top_k": 50})
    assert found.status_code == 200, found.text
    return sorted(r["event"]["content"]["text"] for r in found.json()["results"])


def test_the_index_is_kept_reconciled_after_a_kill_9_and_rebuilt_when_unreadable(tmp_path: Path) -> None:
    data = tmp_path / "d"
    srv = start_server(data, env=HASHING)
    with srv.client() as a:
        sid = a.post("/v1/sessions", json={"user_id": "u"}).json()["id"]
        gone = a.post("/v1/sessions", json={"user_id": "u"}).json()["id"]
        for i in range(3):
            for s, text in ((sid, f"fjord {i}"), (gone, f"fjord x{i}")):
                body = {"author": "user", "content": {"text": text}}
                assert a.post(f"/v1/sessions/{s}/events", json=body).is_success
        deadline = time.monotonic() + 90
        while len(said(a, "u", "fjord")) < 6 and time.monotonic() < deadline:
            time.sleep(0.3)  # the indexer reads the streams
        assert len(said(a, "u", "fjord")) == 6
        assert a.delete(f"/v1/sessions/{gone}").status_code == 204
    assert stop_server(srv) == 0

    # Clean restart without workers: the index is kept (nothing embedded again) and matches the record,
    # the deleted session's events included, whether the indexer saw that delete or not.
    srv = start_server(data, "--no-workers", env=HASHING)
    log = srv.log.read_text()
    assert "kept and reconciled" in log and "(0 embedded)" in log, log
    with srv.client() as a:
        assert said(a, "u", "fjord") == ["fjord 0", "fjord 1", "fjord 2"]
        for text in ("fjord late 1", "fjord late 2"):  # no workers: no indexer reads these from the stream
            body = {"author": "user", "content": {"text": text}}
            assert a.post(f"/v1/sessions/{sid}/events", json=body).is_success
    kill_9(srv)

    # After kill -9: the index's log replays, the reconcile indexes the two appends it never saw.
    srv = start_server(data, "--no-workers", env=HASHING)
    assert "(2 embedded)" in srv.log.read_text(), srv.log.read_text()
    with srv.client() as a:
        assert said(a, "u", "fjord") == ["fjord 0", "fjord 1", "fjord 2", "fjord late 1", "fjord late 2"]
    assert stop_server(srv) == 0

    # An index file that cannot be read: rebuilt from the tables, and the start says so.
    (data / "index" / "snapshot.npz").write_bytes(b"not an index")
    srv = start_server(data, "--no-workers", env=HASHING)
    log = srv.log.read_text()
    assert "cannot be read" in log and "rebuilt: " in log, log
    with srv.client() as a:
        assert said(a, "u", "fjord") == ["fjord 0", "fjord 1", "fjord 2", "fjord late 1", "fjord late 2"]
    assert stop_server(srv) == 0
    assert "Traceback" not in srv.log.read_text()
