"""Fitting a context to its budget: always within it, whole items only, dropped in the documented order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextiq.errors import InvalidInputError
from contextiq.services.context import ContextService, Found, trim_order
from contextiq.services.templates import DEFAULT_BODY, RENDER_LIMITS, Resolved
from contextiq.templating.engine import TemplateEngine
from contextiq.templating.tokens import estimate_tokens


class _Templates:
    engine = TemplateEngine(RENDER_LIMITS)


SERVICE = ContextService(None, None, None, None, _Templates())  # type: ignore[arg-type]  # _fit needs the engine only
CONTEXT: dict[str, Any] = {"query": "q", "scope": {}, "now": None, "max_tokens": 0, "session": None}
# Non-monotonic on purpose: a long footer appears only when there are few memories.
ODD = "{% for m in memories %}{{ m.text }}\n{% endfor %}{% if memories|length < 2 %}{{ 'pad ' * 30 }}{% endif %}"
words = st.text(alphabet="abcdefgh ", min_size=1, max_size=40).map(lambda s: s.strip() or "x")


def found(memories: list[str], events: list[str], recent: list[str]) -> Found:
    return Found(
        memories=[{"id": f"m{i}", "text": t, "score": 1 - i / 100} for i, t in enumerate(memories)],
        events=[
            {"id": f"e{i}", "text": t, "author": "user", "timestamp": "2026-01-01T00:00:00Z", "score": 0.5}
            for i, t in enumerate(events)
        ],
        recent_events=[{"id": f"r{i}", "text": t, "author": "user"} for i, t in enumerate(recent)],
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(words, max_size=8),
    st.lists(words, max_size=5),
    st.lists(words, max_size=6),
    st.integers(1, 400),
    st.sampled_from([DEFAULT_BODY, ODD]),
)
def test_the_text_always_fits_and_items_go_in_order(
    memories: list[str], events: list[str], recent: list[str], budget: int, body: str
) -> None:
    items = found(memories, events, recent)
    try:
        kept, text, tokens = SERVICE._fit(Resolved("t", 1, body, []), items, CONTEXT, budget)
    except InvalidInputError as err:  # only when nothing at all fits
        assert err.errors[0].field == "max_tokens"  # noqa: PT017
        return
    assert tokens == estimate_tokens(text) <= budget
    order = trim_order(items)
    dropped = [(name, i["id"]) for name in ("memories", "events", "recent_events") for i in items.section(name)
               if i not in kept.section(name)]  # fmt: skip
    assert set(dropped) == set(order[: len(dropped)])  # a prefix of the trim order, nothing else
    for m in kept.memories:
        assert " ".join(m["text"].split()) in " ".join(text.split())  # whole (bullet_list folds spaces)


def test_trim_order_is_events_then_oldest_turns_then_procedures_then_memories() -> None:
    items = found(["m0", "m1"], ["e0", "e1"], ["r0", "r1"])
    items.procedures = [{"id": "p0"}, {"id": "p1"}]
    assert trim_order(items) == [
        ("events", "e1"), ("events", "e0"), ("recent_events", "r0"), ("recent_events", "r1"),
        ("procedures", "p1"), ("procedures", "p0"), ("memories", "m1"), ("memories", "m0"),
    ]  # fmt: skip


def test_a_template_longer_than_the_budget_is_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        SERVICE._fit(Resolved("t", 1, "fixed text " * 20, []), found([], [], []), CONTEXT, 5)
    needed = estimate_tokens("fixed text " * 20)
    assert err.value.errors[0].field == "max_tokens" and f"at least {needed}" in err.value.errors[0].message
