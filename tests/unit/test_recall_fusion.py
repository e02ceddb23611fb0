"""Recall's fusion rules: RRF, near-duplicate removal, date windows from the query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contextiq.models.memories import Memory, Source
from contextiq.models.sessions import Event
from contextiq.services.query_dates import Window, query_window
from contextiq.services.recall import Candidate, boost_window, rrf, without_covered_events

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _event(eid: str, when: datetime = T0) -> Candidate:
    e = Event(id=eid, session_id="s", seq=1, author="user", role=None, content={"text": eid}, timestamp=when,
              metadata={})  # fmt: skip
    return Candidate("event", "e:" + eid, 0.5, event=e)


def _memory(mid: str, event_ids: tuple[str, ...] = (), when: datetime = T0) -> Candidate:
    m = Memory(id=mid, scope={"user_id": "u"}, fact=mid, topics=[], metadata={}, create_time=T0, update_time=T0,
               event_time=when, version=1, source=Source(session_id="s", event_ids=list(event_ids)))  # fmt: skip
    return Candidate("memory", "m:" + mid, 0.5, memory=m)


def test_rrf_interleaves_and_sums_ranks() -> None:
    fused = rrf([[_memory("m1"), _memory("m2")], [_event("e1"), _event("e2")]])
    assert [c.key for c in fused] == ["e:e1", "m:m1", "e:e2", "m:m2"]  # equal ranks: ties by type, then key
    assert fused[0].score == pytest.approx(1 / 61)


def test_an_event_carried_by_a_returned_memory_is_dropped_and_refilled() -> None:
    fused = rrf([[_memory("m1", ("e1",)), _memory("m2")], [_event("e1"), _event("e2"), _event("e3")]])
    chosen = without_covered_events(fused, 3)
    assert [c.key for c in chosen] == ["m:m1", "e:e2", "m:m2"]
    # the memory that carries it is not returned: the event stays
    assert "e:e1" in [c.key for c in without_covered_events(rrf([[_event("e1")], [_memory("m9")]]), 5)]


def test_boost_window_moves_in_window_results_first_keeping_order() -> None:
    old, new = datetime(2022, 3, 1, tzinfo=UTC), datetime(2024, 5, 10, tzinfo=UTC)
    items = [_event("a", old), _event("b", new), _event("c", old), _event("d", new)]
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert [c.key for c in boost_window(items, window)] == ["e:b", "e:d", "e:a", "e:c"]
    assert boost_window(items, None) == items


NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def _d(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "window"),
    [
        ("What did Carol do in 2022?", Window(_d(2022, 1, 1), _d(2023, 1, 1))),
        ("where did she travel last May", Window(_d(2024, 5, 1), _d(2024, 6, 1))),
        ("plans in July", Window(_d(2023, 7, 1), _d(2023, 8, 1))),  # the most recent July that has started
        ("what happened in March 2023", Window(_d(2023, 3, 1), _d(2023, 4, 1))),
        ("what did I say yesterday", Window(_d(2024, 6, 14), _d(2024, 6, 15))),
        ("anything last month", Window(_d(2024, 5, 1), _d(2024, 6, 1))),
        ("from 2021 to 2023", Window(_d(2021, 1, 1), _d(2022, 1, 1))),
        ("what did he buy before 2020", Window(None, _d(2020, 1, 1))),
        ("books read since 2019", Window(_d(2019, 1, 1), None)),
        ("moved after 2019", Window(_d(2020, 1, 1), None)),
        ("what is her favourite food", None),
        ("the 2022 model of my car", None),  # a year that is not after in/during/of/from
    ],
)
def test_query_window(query: str, window: Window | None) -> None:
    assert query_window(query, NOW) == window
