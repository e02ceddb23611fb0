"""Consolidation across jobs through the real pipeline (issue 10): a single-valued attribute changed in a
later job updates the old memory with a revision and the user's known name; distinct facts stay apart; the
name carries across extraction chunks; generated memories take their event_time from their source events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contextiq import limits

SCOPE = {"user_id": "carol"}


def _session(api, turns, at: datetime):  # type: ignore[no-untyped-def]
    sid = api.post("/v1/sessions", json={"user_id": "carol", "app_name": "chat"}).json()["id"]
    for n, text in enumerate(turns):
        body = {
            "author": "user",
            "role": "user",
            "content": {"text": text},
            "timestamp": at.replace(minute=n).isoformat(),
        }
        assert api.post(f"/v1/sessions/{sid}/events", json=body).status_code == 201
    return sid


def _generate(api, drain, **body):  # type: ignore[no-untyped-def]
    job_id = api.post("/v1/memories/generate", json=body).json()["job_id"]
    drain()
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "SUCCEEDED", job
    return job


def _memories(api):  # type: ignore[no-untyped-def]
    return {m["fact"]: m for m in api.get("/v1/memories?scope.user_id=carol&limit=100").json()["items"]}


def test_a_move_in_a_later_job_updates_the_residence_with_the_known_name(api, workers) -> None:
    first = _session(api, ["Hi! My name is Carol and I live in Denver."], datetime(2026, 10, 2, 9, tzinfo=UTC))
    _generate(api, workers, session_id=first)
    assert set(_memories(api)) == {"The user's name is Carol", "Carol lives in Denver"}
    denver = _memories(api)["Carol lives in Denver"]

    later = _session(api, ["Update: I moved from Denver to Seattle last month."], datetime(2026, 11, 20, 9, tzinfo=UTC))
    job = _generate(api, workers, session_id=later)
    assert (job["result"]["updated"], job["result"]["added"]) == (1, 0), job
    memories = _memories(api)
    assert set(memories) == {"The user's name is Carol", "Carol moved from Denver to Seattle in October 2026"}
    moved = memories["Carol moved from Denver to Seattle in October 2026"]
    assert moved["id"] == denver["id"] and moved["version"] == 2
    revisions = api.get(f"/v1/memories/{moved['id']}/revisions").json()["items"]
    assert [(r["action"], r["previous_fact"]) for r in revisions] == [
        ("CREATED", None),
        ("UPDATED", "Carol lives in Denver"),
    ]
    # event_time: when the source events were said
    assert denver["event_time"].startswith("2026-10-02T09:00")
    assert moved["event_time"].startswith("2026-11-20T09:00")


def test_ten_facts_differing_in_a_place_and_a_year_stay_ten_memories(api, workers) -> None:
    facts = [f"Carol visited Town{i} in {1990 + i}" for i in range(10)]
    job = _generate(api, workers, scope=SCOPE, facts=facts)
    assert job["result"]["added"] == 10, job
    assert sorted(_memories(api)) == sorted(facts)


def test_the_name_said_in_an_earlier_chunk_names_later_facts(api, workers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "EXTRACTION_CHUNK_TURNS", 2)
    turns = ["My name is Carol.", "What's the capital of Peru?", "Thanks!", "I'm allergic to peanuts."]
    sid = _session(api, turns, datetime(2026, 11, 1, 9, tzinfo=UTC))
    _generate(api, workers, session_id=sid)
    assert set(_memories(api)) == {"The user's name is Carol", "Carol is allergic to peanuts"}
