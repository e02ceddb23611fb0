"""Event-anchored date expressions ("before her trip to Lisbon"): detection, confidence, resolution, and
RecallService applying the anchor as a boost window (fakes for the memory and episode services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contextiq.models.memories import Memory
from contextiq.models.recall import RecallRequest
from contextiq.models.sessions import Event
from contextiq.services.episodes import EventQuery
from contextiq.services.query_anchors import ANCHOR_MIN_CONFIDENCE, confidence, find_anchor, fold, resolve
from contextiq.services.recall import RecallService

NOW = datetime(2024, 6, 15, tzinfo=UTC)


def _event(eid: str, text: str, day: int, session: str = "s1") -> Event:
    return Event(
        id=eid, session_id=session, seq=day, author="u1", role="user", content={"text": text},
        timestamp=datetime(2024, 5, day, 12, tzinfo=UTC), metadata={},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "relation", "phrase"),
    [
        ("What was Ana reading before her trip to Lisbon?", "before", "her trip to Lisbon"),
        ("what did we talk about after the wedding", "after", "the wedding"),
        ("Where has she worked since I started the new job?", "after", "I started the new job"),
        ("Which bike did I ride until the move, and why?", "before", "the move"),
        ("Where did Ana live before moving to Porto?", "before", "moving to Porto"),
    ],
)
def test_find_anchor(query: str, relation: str, phrase: str) -> None:
    anchor = find_anchor(query)
    assert anchor is not None and (anchor.relation, anchor.phrase) == (relation, phrase)


@pytest.mark.parametrize("query", ["what did I eat", "before it", "after that?", "since then, what changed"])
def test_no_anchor_without_a_content_word(query: str) -> None:
    assert find_anchor(query) is None


def test_fold_matches_inflections() -> None:
    assert fold("started") == fold("start") == fold("starting")
    assert fold("moving") == fold("moved") == fold("move")
    assert fold("planned") == fold("plan")


def test_confidence_is_the_share_of_content_words_found() -> None:
    anchor = find_anchor("what did I read before my trip to Lisbon?")
    assert anchor is not None and anchor.words == {"trip", "lisbon"}
    assert confidence(anchor, "I just got back from my trip to Lisbon!") == 1.0
    assert confidence(anchor, "Planning a trip to Rome") == 0.5
    assert confidence(anchor, "Nothing to see") == 0.0


def test_resolve_takes_the_first_most_confident_candidate_above_the_threshold() -> None:
    anchor = find_anchor("before her trip to Lisbon")
    assert anchor is not None
    rome = _event("e1", "Can you plan a trip to Rome?", 3)
    lisbon = _event("e2", "Back from my trip to Lisbon", 10)
    again = _event("e3", "The trip to Lisbon was lovely", 11)
    resolved = resolve(anchor, [rome, lisbon, again])
    assert resolved is not None and resolved.event is lisbon and resolved.confidence == 1.0
    assert resolved.window.before == lisbon.timestamp and resolved.window.after is None
    assert resolve(anchor, [rome]) is None  # 0.5 < threshold: no anchor, no window
    assert ANCHOR_MIN_CONFIDENCE > 0.5
    assert resolve(anchor, []) is None
    after = find_anchor("since her trip to Lisbon")
    assert after is not None
    window = resolve(after, [lisbon])
    assert window is not None and window.window.after == lisbon.timestamp + timedelta(milliseconds=1)


class FakeMemories:
    def __init__(self, found: list[tuple[Memory, float]]) -> None:
        self.found = found

    def find(self, *args: Any, **kwargs: Any) -> list[tuple[Memory, float]]:
        return self.found


class FakeEpisodes:
    """Keyword queries (the anchor lookup) answer from ``anchors``; others from ``pool``."""

    def __init__(self, pool: list[Event], anchors: list[Event]) -> None:
        self.pool, self.anchors = pool, anchors
        self.queries: list[EventQuery] = []

    def embed_query(self, text: str) -> list[float]:
        return [0.0]

    def query(self, tenant: str, q: EventQuery, vector: Any = None) -> list[tuple[Event, float]]:
        self.queries.append(q)
        found = self.anchors if q.mode == "keyword" else self.pool
        return [(e, 1.0 - n / 10) for n, e in enumerate(found)]


def _recall(episodes: FakeEpisodes, query: str, **extra: Any):  # type: ignore[no-untyped-def]
    service = RecallService(FakeMemories([]), episodes, clock=lambda: NOW)  # type: ignore[arg-type]
    req = RecallRequest.model_validate({"scope": {"user_id": "u1", "app_name": "books"}, "query": query, **extra})
    return service.recall("t1", req)


def test_recall_boosts_what_precedes_a_confident_anchor() -> None:
    later = _event("late", "I'm reading Emma now", 20)
    trip = _event("trip", "I just got back from my trip to Lisbon", 10)
    earlier = _event("early", "I'm reading Dune at the moment", 2)
    episodes = FakeEpisodes(pool=[later, trip, earlier], anchors=[trip])
    resp = _recall(episodes, "What was I reading before my trip to Lisbon?")
    assert [r.event.id for r in resp.results if r.event] == ["early", "late", "trip"]  # in-window first
    assert resp.before == trip.timestamp and resp.after is None
    assert resp.anchor is not None
    assert (resp.anchor.relation, resp.anchor.phrase, resp.anchor.event_id) == ("before", "my trip to Lisbon", "trip")
    lookup = [q for q in episodes.queries if q.mode == "keyword"]
    assert [(q.text, q.user_id, q.app_name) for q in lookup] == [("my trip to Lisbon", "u1", "books")]


def test_a_weak_anchor_changes_nothing() -> None:
    later = _event("late", "I'm reading Emma now", 20)
    earlier = _event("early", "I'm reading Dune at the moment", 2)
    rome = _event("rome", "Can you plan a trip to Rome?", 10)
    episodes = FakeEpisodes(pool=[later, earlier], anchors=[rome])
    resp = _recall(episodes, "What was I reading before my trip to Lisbon?")
    assert [r.event.id for r in resp.results if r.event] == ["late", "early"]  # the order of the pool
    assert resp.anchor is None and resp.before is None and resp.after is None


def test_calendar_dates_and_explicit_bounds_win_over_anchors() -> None:
    trip = _event("trip", "I just got back from my trip to Lisbon", 10)
    episodes = FakeEpisodes(pool=[trip], anchors=[trip])
    dated = _recall(episodes, "What did I read before my trip to Lisbon in 2023?")
    assert dated.anchor is None and dated.after == datetime(2023, 1, 1, tzinfo=UTC)
    explicit = _recall(episodes, "What did I read before my trip to Lisbon?", before="2024-05-05T00:00:00Z")
    assert explicit.anchor is None and explicit.before == datetime(2024, 5, 5, tzinfo=UTC)
    off = _recall(episodes, "What did I read before my trip to Lisbon?", use_query_dates=False)
    assert off.anchor is None and off.before is None
    assert not [q for q in episodes.queries if q.mode == "keyword"]  # no anchor lookup in any of these


def test_a_scope_without_user_looks_for_no_anchor() -> None:
    trip = _event("trip", "I just got back from my trip to Lisbon", 10)
    episodes = FakeEpisodes(pool=[trip], anchors=[trip])
    service = RecallService(FakeMemories([]), episodes, clock=lambda: NOW)  # type: ignore[arg-type]
    req = RecallRequest.model_validate({"scope": {"app_name": "books"}, "query": "before my trip to Lisbon"})
    assert service.recall("t1", req).anchor is None and episodes.queries == []
