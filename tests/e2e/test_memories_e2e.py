"""Memories and generation over real HTTP against `contextiq local` with its real defaults (MiniLM, embedded
index, deterministic extractor, queue pollers driving the extraction and consolidation handlers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import KEY_B, Server, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.minilm, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def minilm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("e2e-minilm"))
    yield srv
    stop_server(srv)


def test_paraphrase_search_with_minilm(minilm_server: Server) -> None:
    scope = {"user_id": "para", "app": "food"}
    facts = [
        "I'm vegetarian",
        "The user's flight to Lisbon leaves on Tuesday",
        "The user works as a nurse in Leeds",
        "The user has two cats called Miso and Tofu",
    ]
    with minilm_server.client() as c:
        for fact in facts:
            assert c.post("/v1/memories", json={"scope": scope, "fact": fact}).status_code == 201
        for mode in ("semantic", "hybrid"):
            results = c.post(
                "/v1/memories/search",
                json={"scope": scope, "query": "what food does the user avoid?", "mode": mode, "top_k": 4},
            ).json()["results"]
            assert results[0]["memory"]["fact"] == "I'm vegetarian", (mode, results)
        pets = c.post("/v1/memories/search", json={"scope": scope, "query": "does she have any pets?"}).json()
        assert pets["results"][0]["memory"]["fact"].startswith("The user has two cats")
        other = minilm_server.client(KEY_B).post("/v1/memories/search", json={"scope": scope, "query": "food"})
        assert other.json()["results"] == []


def test_generate_then_search_over_http(minilm_server: Server) -> None:
    with minilm_server.client() as c:
        sid = c.post("/v1/sessions", json={"user_id": "gina", "app_name": "travel"}).json()["id"]
        for author, text in [
            ("user", "Hi! My name is Gina and I live in Porto."),
            ("model", "Nice to meet you, Gina. How can I help?"),
            ("user", "I'm allergic to peanuts, so please keep that in mind when booking meals."),
            ("user", "I prefer aisle seats on long flights."),
        ]:
            c.post(f"/v1/sessions/{sid}/events", json={"author": author, "role": author, "content": {"text": text}})
        done = c.post("/v1/memories/generate", json={"session_id": sid, "wait_seconds": 25})
        assert done.status_code == 200, done.text
        job = done.json()
        assert job["status"] == "SUCCEEDED" and job["result"]["added"] >= 3
        hits = c.post(
            "/v1/memories/search", json={"scope": {"user_id": "gina"}, "query": "which nuts should Gina avoid?"}
        ).json()["results"]
        assert "peanut" in hits[0]["memory"]["fact"].lower()
        again = c.post("/v1/memories/generate", json={"session_id": sid, "wait_seconds": 25}).json()
        assert again["status"] == "SUCCEEDED"
        assert again["result"]["added"] == 0 and again["result"]["unchanged"] == job["result"]["added"]


def test_reindex_script_against_the_running_server(minilm_server: Server, tmp_path) -> None:
    """scripts/reindex.py asks the running local server (which owns the index) to rebuild it."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    state = minilm_server.log.parent / "local.json"
    assert json.loads(state.read_text())["url"] == minilm_server.url
    with minilm_server.client() as c:
        c.post("/v1/memories", json={"scope": {"user_id": "ri"}, "fact": "The user rides a unicycle"})
        out = subprocess.run(
            [sys.executable, str(root / "scripts" / "reindex.py"), "--state", str(state)],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        counts = json.loads(out.stdout.strip().splitlines()[-1])
        assert counts["upserted"] >= 1 and counts["reembedded"] == 0
        hits = c.post("/v1/memories/search", json={"scope": {"user_id": "ri"}, "query": "unicycle"}).json()
        assert [h["memory"]["fact"] for h in hits["results"]] == ["The user rides a unicycle"]
