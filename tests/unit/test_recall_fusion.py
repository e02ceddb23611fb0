"""Recall's fusion rules: RRF, near-duplicate removal, date windows from the query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contextiq.models.memories import Memory, Source
from contextiq.models.sessions import Event
from contextiq.services.query_dates import Window, query_window
from contextiq.services.recall_fusion import (
    DEFAULT_FUSION,
    Candidate,
    Fusion,
    boost_window,
    fuse,
    without_covered_events,
)

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _event(eid: str, when: datetime = T0) -> Candidate:
    e = Event(id=eid, session_id="s", seq=1, author="user", role=None, content={"text": eid}, timestamp=when,
              metadata={})  # fmt: skip
    return Candidate("event", "e:" + eid, 0.5, event=e)


def _memory(mid: str, event_ids: tuple[str, ...] = (), when: datetime = T0) -> Candidate:
    m = Memory(id=mid, scope={"user_id": "u"}, fact=mid, topics=[], metadata={}, create_time=T0, update_time=T0,
               event_time=when, version=1, source=Source(session_id="s", event_ids=list(event_ids)))  # fmt: skip
    return Candidate("memory", "m:" + mid, 0.5, memory=m)


RRF = Fusion("rrf", 60, 1.0, support=False)


def test_rrf_interleaves_and_sums_ranks() -> None:
    fused = fuse([_memory("m1"), _memory("m2")], [_event("e1"), _event("e2")], None, 10, RRF)
    assert [c.key for c in fused] == ["e:e1", "m:m1", "e:e2", "m:m2"]  # equal ranks: ties by type, then key
    assert fused[0].score == pytest.approx(1 / 61)
    # a lighter event weight ranks an event below the memory of the same rank
    lighter = fuse([_memory("m1"), _memory("m2")], [_event("e1"), _event("e2")], None, 10, Fusion("rrf", 60, 0.5))
    assert [c.key for c in lighter] == ["m:m1", "m:m2", "e:e1", "e:e2"]


def test_an_event_carried_by_a_returned_memory_is_dropped_and_refilled() -> None:
    chosen = fuse([_memory("m1", ("e1",)), _memory("m2")], [_event("e1"), _event("e2"), _event("e3")], None, 3, RRF)
    assert [c.key for c in chosen] == ["m:m1", "e:e2", "m:m2"]
    # the memory that carries it is not returned: the event stays
    assert "e:e1" in [c.key for c in fuse([_memory("m9")], [_event("e1")], None, 5, RRF)]
    assert [c.key for c in without_covered_events([_memory("m1", ("e1",)), _event("e1")], 5)] == ["m:m1"]


def test_support_credits_a_memory_with_the_events_it_came_from() -> None:
    memories = [_memory("m1"), _memory("m2", ("e1",))]
    events = [_event("e1"), _event("e2")]
    plain = [c.key for c in fuse(memories, events, None, 2, RRF)]
    assert plain == ["e:e1", "m:m1"]  # m2, carrying e1, loses its slot to e1 itself
    supported = fuse(memories, events, None, 2, Fusion("rrf", 60, 1.0, support=True))
    assert [c.key for c in supported] == ["m:m2", "m:m1"]  # e1 is evidence for m2, not a competitor
    assert supported[0].score == pytest.approx(1 / 62 + 1 / 61)


def test_score_fusion_ranks_by_hybrid_score_and_window_first() -> None:
    low, high = _memory("m1"), _event("e1")
    low = Candidate("memory", low.key, 0.6, memory=low.memory)
    high = Candidate("event", high.key, 0.7, event=high.event)
    assert [c.key for c in fuse([low], [high], None, 5, Fusion("score", event_weight=1.0))] == ["e:e1", "m:m1"]
    assert [c.key for c in fuse([low], [high], None, 5, Fusion("score", event_weight=0.8))] == ["m:m1", "e:e1"]
    window = Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))
    old = Candidate("memory", "m:old", 0.1, memory=_memory("old", when=datetime(2020, 1, 5, tzinfo=UTC)).memory)
    assert fuse([low, old], [high], window, 5, Fusion("score"))[0].key == "m:old"


def test_boost_window_moves_in_window_results_first_keeping_order() -> None:
    old, new = datetime(2022, 3, 1, tzinfo=UTC), datetime(2024, 5, 10, tzinfo=UTC)
    items = [_event("a", old), _event("b", new), _event("c", old), _event("d", new)]
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert [c.key for c in boost_window(items, window)] == ["e:b", "e:d", "e:a", "e:c"]
    assert boost_window(items, None) == items


def test_minmax_rescales_each_pool_and_default_is_minmax() -> None:
    def scored(c: Candidate, score: float) -> Candidate:
        return Candidate(c.type, c.key, score, memory=c.memory, event=c.event)

    # memories score high but close together; one event stands out in its own pool
    memories = [scored(_memory("m1"), 0.90), scored(_memory("m2"), 0.89), scored(_memory("m3"), 0.80)]
    events = [scored(_event("e1"), 0.85), scored(_event("e2"), 0.60)]
    fused = fuse(memories, events, None, 5, Fusion("minmax", event_weight=0.5))
    assert [c.key for c in fused] == ["m:m1", "m:m2", "e:e1", "e:e2", "m:m3"]  # ties: events first
    assert [round(c.score, 2) for c in fused] == [1.0, 0.9, 0.5, 0.0, 0.0]
    assert Fusion("minmax", event_weight=0.5, support=False) == DEFAULT_FUSION


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
        ("from 2021 to 2023", Window(_d(2021, 1, 1), _d(2024, 1, 1))),
        ("trips between 2019 and 2020", Window(_d(2019, 1, 1), _d(2021, 1, 1))),
        ("what did she pack before her trip", None),  # anchored on an event, not a date: ignored
        ("what did he buy before 2020", Window(None, _d(2020, 1, 1))),
        ("books read since 2019", Window(_d(2019, 1, 1), None)),
        ("moved after 2019", Window(_d(2020, 1, 1), None)),
        ("what is her favourite food", None),
        ("the 2022 model of my car", None),  # a year that is not after in/during/of/from
    ],
)
def test_query_window(query: str, window: Window | None) -> None:
    assert query_window(query, NOW) == window
