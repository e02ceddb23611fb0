"""Relative dates resolved against the turn timestamp (contextiq.ai.extractors.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contextiq.ai.extractors.dates import add_months, find_dates, has_date, resolve_dates

WEDNESDAY = datetime(2024, 5, 8, 9, 30, tzinfo=UTC)  # Wednesday 8 May 2024


@pytest.mark.parametrize(
    ("text", "resolved"),
    [
        ("I went to the dentist yesterday", "I went to the dentist on 2024-05-07"),
        ("I fly out tomorrow", "I fly out on 2024-05-09"),
        ("I'm cooking tonight", "I'm cooking on 2024-05-08"),
        ("the day after tomorrow", "on 2024-05-10"),
        ("the day before yesterday", "on 2024-05-06"),
        # "on <weekday>" / "this <weekday>" / bare weekday: the next one strictly after today
        ("the meeting is on Friday", "the meeting is on 2024-05-10"),
        ("this Friday works", "on 2024-05-10 works"),
        ("see you on Wednesday", "see you on 2024-05-15"),
        # "next <weekday>": that day in the following calendar week (weeks start on Monday)
        ("I leave next Friday", "I leave on 2024-05-17"),
        ("next Monday", "on 2024-05-13"),
        # "last <weekday>": the most recent one strictly before today
        ("I met her last Monday", "I met her on 2024-05-06"),
        ("last Wednesday", "on 2024-05-01"),
        ("I arrive in 3 days", "I arrive on 2024-05-11"),
        ("in two weeks", "on 2024-05-22"),
        ("in a couple of days", "on 2024-05-10"),
        ("I ran two weeks ago", "I ran on 2024-04-24"),
        ("a month ago", "on 2024-04-08"),
        ("I was sick last week", "I was sick in the week of 2024-04-29"),
        ("next week", "in the week of 2024-05-13"),
        ("I moved last month", "I moved in April 2024"),
        ("next year", "in 2025"),
        # a preposition already there is kept
        ("by next Friday", "by 2024-05-17"),
        ("since last week", "since the week of 2024-04-29"),
        ("until tomorrow", "until 2024-05-09"),
        # absolute dates without a year: the nearest year (at most ~6 months back)
        ("on May 17th", "on 2024-05-17"),
        ("on the 14th of June", "on 2024-06-14"),
        ("on 3 January", "on 2024-01-03"),
        ("on March 3, 1990", "on 1990-03-03"),
        ("on the 3rd", "on 2024-06-03"),
        ("on the 20th", "on 2024-05-20"),
        # left alone
        ("I play tennis every Sunday", "I play tennis every Sunday"),
        ("I work on Fridays", "I work on Fridays"),
        ("I may 2 things", "I may 2 things"),
        ("already 2024-05-01", "already 2024-05-01"),
    ],
)
def test_resolve_dates(text: str, resolved: str) -> None:
    assert resolve_dates(text, WEDNESDAY) == resolved


def test_reference_is_the_turn_date_in_its_own_timezone() -> None:
    late = datetime(2024, 5, 8, 23, 59, tzinfo=UTC)
    assert resolve_dates("tomorrow", late) == "on 2024-05-09"
    assert resolve_dates("yesterday", date(2024, 3, 1)) == "on 2024-02-29"


def test_a_date_more_than_six_months_back_is_next_year() -> None:
    december = datetime(2024, 12, 20, tzinfo=UTC)
    assert resolve_dates("on January 5", december) == "on 2025-01-05"
    assert resolve_dates("on December 1", december) == "on 2024-12-01"


def test_find_dates_reports_values_and_granularity() -> None:
    mentions = find_dates("I fly next Friday and return the week after, last week was busy", WEDNESDAY)
    assert [(m.text, m.value, m.granularity) for m in mentions] == [
        ("next Friday", date(2024, 5, 17), "day"),
        ("last week", date(2024, 4, 29), "week"),
    ]


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_has_date() -> None:
    assert has_date("on 2024-05-17")
    assert has_date("in April 2024")
    assert has_date("in the week of 2024-04-29")
    assert not has_date("in April")
