"""Procedures and trajectories through the SDK, against the live local server."""

from __future__ import annotations

import pytest

from contextiq_sdk import Client, NotFoundError, PreconditionFailedError
from tests.e2e.conftest import Server

from .conftest import KEY_A, KEY_B


def test_procedures_and_trajectories(live: Server, uid: str) -> None:
    scope = {"user_id": uid}
    with Client(live.url, KEY_A) as sdk:
        steps = [{"instruction": "Search flights for the dates", "tool": "flight_search"}, {"instruction": "Book it"}]
        proc = sdk.procedures.create(scope, "workflow", "Book a flight", "when the user asks to book a flight", steps)
        assert (proc.name, len(proc.steps), proc.version) == ("Book a flight", 2, 1)
        assert sdk.procedures.get(proc.id).steps[0].tool == "flight_search"
        assert [x.id for x in sdk.procedures.iter(scope)] == [proc.id]
        hits = sdk.procedures.search(scope, "book a flight").results
        assert hits[0].procedure.id == proc.id
        used = sdk.procedures.feedback(proc.id, "success", note="worked")
        assert used.stats.successes == 1
        changed = sdk.procedures.update(proc.id, description="to book any flight", version=used.version)
        with pytest.raises(PreconditionFailedError):
            sdk.procedures.update(proc.id, description="stale", version=used.version)
        assert changed.description == "to book any flight"
        assert len(sdk.procedures.revisions(proc.id).items) >= 2

        trajectory = sdk.trajectories.create(
            scope,
            "Book a hotel in Rome",
            {"status": "success"},
            steps=[{"thought": "find hotels", "tool": "hotel_search"}, {"tool": "book", "observation": "booked"}],
        )
        assert sdk.trajectories.get(trajectory.id).task == "Book a hotel in Rome"
        assert [t.id for t in sdk.trajectories.list(scope).items] == [trajectory.id]
        assert sdk.trajectories.search(scope, "hotel Rome").results[0].trajectory.id == trajectory.id
        job = sdk.procedures.generate(scope, trajectory_ids=[trajectory.id], wait=True, timeout=60)
        assert job.kind == "procedures" and job.status.done

        with Client(live.url, KEY_B) as other, pytest.raises(NotFoundError):
            other.procedures.get(proc.id)
        sdk.trajectories.delete(trajectory.id)
        sdk.procedures.delete(proc.id)
        with pytest.raises(NotFoundError):
            sdk.procedures.get(proc.id)
