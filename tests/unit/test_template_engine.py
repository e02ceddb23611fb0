"""The template sandbox: escapes refused, renders bounded in time, iterations and size, lines named."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextiq.templating.engine import (
    Budget,
    RenderLimits,
    TemplateEngine,
    TemplateInvalidError,
    TemplateLimitError,
)
from contextiq.templating.filters import bullet_list, datetime_filter, truncate_tokens
from contextiq.templating.tokens import estimate_tokens

LIMITS = RenderLimits(seconds=0.3, output_chars=50_000, iterations=20_000)
ENGINE = TemplateEngine(LIMITS)


def render(body: str, **context: object) -> str:
    ENGINE.check(body, context.keys())
    return ENGINE.render(body, context)


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ x|attr('__class__') }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ items.append(1) }}",
        "{{ d.update({'a': 1}) }}",
        "{{ d.pop('a') }}",
        "{{ 'a'.ljust(100000000) }}",
        "{{ '%999999999s' % 'a' }}",
    ],
)
def test_escapes_and_mutations_are_refused(body: str) -> None:
    with pytest.raises(TemplateInvalidError, match="line 1: refused by the sandbox"):
        render(body, x=1, items=[1], d={"a": 1})


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "iterations"),
        (
            "{% set s = 'x' * 400 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}",
            "iterations",
        ),
        ("{{ 'x' * 100000000 }}", "characters"),
        ("{{ [1] * 100000000 }}", "characters"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "characters",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "characters",
        ),
        ("{% set ns = namespace(n=3) %}{% for i in range(60) %}{% set ns.n = ns.n * ns.n %}{% endfor %}", "bits"),
        ("{{ 9 ** 9999999 }}", "bits"),
        ("{% for i in range(20000) %}{{ 'x' * 1000 }}{% endfor %}", "characters"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursed"),
        ("{% for x in y recursive %}{{ loop(y) }}{% endfor %}", "recursed"),
    ],
)
def test_runaway_renders_stop_with_a_limit_error(body: str, why: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateLimitError, match=why):
        render(body, y=[1])
    assert time.monotonic() - start < 5  # bounded; the real bound is LIMITS.seconds plus one step


def test_time_limit_stops_a_slow_render() -> None:
    slow = "{% for i in range(20000) %}{{ big | sort | first }}{% endfor %}"
    budget = Budget(RenderLimits(seconds=0.05, output_chars=10**6, iterations=10**6))
    with pytest.raises(TemplateLimitError, match=r"longer than 0\.05 s"):
        ENGINE.render(slow, {"big": list(range(5000))}, budget)


def test_problems_name_their_line() -> None:
    cases = {
        "a\nb\n{% for x in %}": (3, "Expected an expression"),
        "a\n{% if q %}\n{{ nope }}{% endif %}": (3, "unknown variable 'nope'"),
        "a\n{% if q %}{{ q | shout }}{% endif %}": (2, "unknown filter 'shout'"),
        "{% include 'other' %}": (1, "'include' is not available"),
        "x\n{% extends 'base' %}": (2, "'extends' is not available"),
    }
    for body, (line, text) in cases.items():
        with pytest.raises(TemplateInvalidError) as err:
            ENGINE.check(body, ["q"])
        assert err.value.line == line and text in err.value.message, body
    with pytest.raises(TemplateInvalidError) as runtime:
        ENGINE.render("ok\n\n{{ m.missing }}", {"m": {}})
    assert runtime.value.line == 3 and "missing" in runtime.value.message


def test_filters() -> None:
    assert bullet_list([{"text": "a\n b"}, {"text": "c"}], "text") == "- a b\n- c"
    assert datetime_filter("2026-03-04T05:06:07Z") == "2026-03-04 05:06"
    assert datetime_filter("2026-03-04T05:06:07+02:00", "%H:%M") == "03:06"
    cut = truncate_tokens("one two three four five six seven", 4)
    assert cut.endswith("…") and estimate_tokens(cut) <= 4 and " ".join(cut[:-1].split()) in "one two three four"
    assert truncate_tokens("short", 10) == "short"
    assert render("{{ t | tokens }}", t="hello, world") == "5"  # hel·lo , wor·ld (docs/context.md)
    assert render("{{ xs | join(', ') }} {{ xs | length }}", xs=["a", "b"]) == "a, b 2"


def test_compiled_bodies_are_cached() -> None:
    engine = TemplateEngine(LIMITS)
    engine.render("{{ a }}", {"a": 1})
    engine.render("{{ a }}", {"a": 2})
    assert engine._compile.cache_info().hits == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "{{ x }}",
                "{% for i in xs %}",
                "{% endfor %}",
                "{% if x %}",
                "{% endif %}",
                "{{ x * 9 }}",
                "{{ xs|join }}",
                "{{ x.__class__ }}",
                "{{ ",
                " }}",
                "{%",
                "text",
                "\n",
                "{{ x ~ x }}",
                "{{ range(99999)|list|length }}",
                "{% set x = x ~ x %}",
                "{{ x|truncate_tokens(2) }}",
                "{{ xs|bullet_list }}",
                "{{ 2 ** 99 }}",
            ]
        ),
        max_size=12,
    )
)
def test_any_body_renders_or_fails_cleanly(pieces: list[str]) -> None:
    body = "".join(pieces)
    try:
        ENGINE.check(body, ["x", "xs"])
        out = ENGINE.render(body, {"x": "ab", "xs": ["a", "b", "c"]})
    except TemplateInvalidError:
        return
    assert len(out) <= LIMITS.output_chars
