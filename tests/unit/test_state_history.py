"""The state replay rebuilds exactly the state a reader saw at every seq (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextiq.models.checkpoints import StateChange
from contextiq.models.sessions import Event
from contextiq.services.sessions import apply_state_change
from contextiq.services.state_history import StateReplay

KEYS = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=3), st.lists(st.integers(0, 2), max_size=2))
DELTA = st.dictionaries(KEYS, VALUES, max_size=3)
OP = st.one_of(
    st.tuples(st.just("event"), DELTA),
    st.tuples(st.just("patch"), st.tuples(st.dictionaries(KEYS, VALUES, max_size=2), st.lists(KEYS, max_size=2))),
)


def _event(seq: int, delta: dict[str, Any] | None) -> Event:
    return Event(
        id=f"e{seq}",
        session_id="s",
        seq=seq,
        author="a",
        role=None,
        content={"text": "x"},
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        metadata={},
        state_delta=delta or None,
    )


def _live(initial: dict[str, Any], ops: list[tuple[str, Any]]):  # type: ignore[no-untyped-def]
    """Run the ops as the service does; return events, patches, the state seen at each seq and the
    (seq, version, state) after every write (what a checkpoint taken then records)."""
    state, seq, version = dict(initial), 0, 1
    events, patches = [], []
    seen = {0: dict(state)}
    points = [(0, 1, dict(state))]
    for kind, arg in ops:
        version += 1
        if kind == "event":
            seq += 1
            state = apply_state_change(state, arg) if arg else state
            events.append(_event(seq, arg))
        else:
            set_, remove = arg
            remove = [k for k in remove if k not in set_]
            state = apply_state_change(state, set_, remove)
            patches.append(StateChange(seq, version, set_, tuple(remove)))
        seen[seq] = dict(state)
        points.append((seq, version, dict(state)))
    return events, patches, seen, points


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.dictionaries(KEYS, st.integers(0, 9), max_size=3), ops=st.lists(OP, max_size=12))
def test_replay_gives_the_state_at_every_seq_and_every_checkpoint(
    initial: dict[str, Any], ops: list[tuple[str, Any]]
) -> None:
    events, patches, seen, points = _live(initial, ops)
    for upto, expected in seen.items():
        replay = StateReplay(initial, [p for p in patches if p.seq <= upto])
        for e in events[:upto]:
            replay.event(e)
        assert replay.finish() == expected
    for seq, version, expected in points:
        replay = StateReplay(initial, [p for p in patches if p.seq <= seq], upto_version=version)
        for e in events[:seq]:
            replay.event(e)
        assert replay.finish() == expected
        assert all(p.version <= version and p.seq <= seq for p in replay.kept_patches)


def test_events_must_come_in_order() -> None:
    replay = StateReplay({}, [])
    replay.event(_event(1, None))
    with pytest.raises(ValueError, match="out of order"):
        replay.event(_event(3, None))
