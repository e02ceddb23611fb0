"""Relative and partial dates resolved against the timestamp of the turn that mentions them.

A memory outlives the conversation, so "tomorrow" must become a calendar date when it is stored.
:func:`resolve_dates` rewrites every date expression it recognises in a sentence; :func:`find_dates`
returns the mentions with their resolved values. Rules (reference = the turn's timestamp, taken as a
calendar date in its own timezone, UTC for the timestamps ContextIQ stores):

* ``today``/``tonight``/``this morning|afternoon|evening`` -> the reference date;
  ``tomorrow`` -> +1 day; ``yesterday`` -> -1 day; ``the day after tomorrow`` -> +2; ``the day before
  yesterday`` -> -2.
* ``on Friday``, ``this Friday``, bare ``Friday`` -> the next Friday strictly after the reference date.
* ``next Friday`` -> the Friday of the following calendar week (weeks start on Monday).
* ``last Friday`` -> the most recent Friday strictly before the reference date.
* ``in 3 days|weeks|months`` / ``3 days|weeks|months ago`` (digits or number words, ``a``/``an``,
  ``a couple of``, ``a few`` = 3) -> reference +/- that much (months clamp to the month's last day).
* ``next|last|this week`` -> ``the week of <Monday>``; ``next|last|this month`` -> ``<Month YYYY>``;
  ``next|last|this year`` -> ``<YYYY>``.
* ``May 17``, ``17 May``, ``May 17th, 2025``, ``the 14th`` -> ISO date; without a year, the year that
  puts the date nearest the reference (at most ~6 months back, otherwise next year); ``the 14th`` is the
  next 14th on or after the reference date.

Replacement text: a bare expression gets its preposition (``yesterday`` -> ``on 2024-05-07``,
``last week`` -> ``in the week of 2024-04-29``); an expression already after a preposition
(``on``, ``by``, ``until``, ``since``, ``before``, ``after``, ``from``, ``for``, ``till``) keeps it
(``by next Friday`` -> ``by 2024-05-17``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)}
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a couple": 2,
    "a few": 3,
    "few": 3,
}
PREPOSITIONS = ("on", "by", "until", "till", "since", "before", "after", "from", "for", "in")

_WD = "|".join(WEEKDAYS)
_MONTH_RE = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_NUM = (
    r"(?:\d{1,3}|a couple of|a couple|a few|an|a|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
)
_ORD = r"(?:st|nd|rd|th)?"

# Order matters: longer expressions first, so "the day after tomorrow" wins over "tomorrow".
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("day_after_tomorrow", re.compile(r"\bthe day after tomorrow\b", re.I)),
    ("day_before_yesterday", re.compile(r"\bthe day before yesterday\b", re.I)),
    ("today", re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow(?: (?:morning|afternoon|evening|night))?\b", re.I)),
    ("yesterday", re.compile(r"\byesterday(?: (?:morning|afternoon|evening))?\b", re.I)),
    ("in_n", re.compile(rf"\bin {_NUM} (day|week|month|year)s?\b", re.I)),
    ("n_ago", re.compile(rf"\b{_NUM} (day|week|month|year)s? ago\b", re.I)),
    ("rel_weekday", re.compile(rf"\b(next|last|this|coming|this coming) ({_WD})\b", re.I)),
    ("rel_period", re.compile(r"\b(next|last|this) (week|month|year)\b", re.I)),
    (
        "month_day",
        re.compile(rf"\b({_MONTH_RE})\.? (\d{{1,2}}){_ORD}\b(?:,? (\d{{4}})\b)?"),
    ),
    (
        "day_month",
        re.compile(rf"\b(?:the )?(\d{{1,2}}){_ORD} (?:of )?({_MONTH_RE})\b(?:,? (\d{{4}})\b)?"),
    ),
    ("the_nth", re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", re.I)),
    ("weekday", re.compile(rf"\b({_WD})\b", re.I)),
]
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@dataclass(frozen=True)
class DateMention:
    """One date expression found in a text, with what it resolves to."""

    start: int  # span in the original text, including a swallowed preposition
    end: int
    text: str  # the original expression
    value: date  # the resolved day (first day of the week/month/year for periods)
    granularity: str  # "day" | "week" | "month" | "year"
    replacement: str  # what the span is replaced with


def reference_date(reference: datetime | date) -> date:
    return reference.date() if isinstance(reference, datetime) else reference


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _count(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _shift(ref: date, n: int, unit: str) -> tuple[date, str]:
    unit = unit.lower()
    if unit == "day":
        return ref + timedelta(days=n), "day"
    if unit == "week":
        return ref + timedelta(weeks=n), "day"
    if unit == "month":
        return add_months(ref, n), "day"
    return add_months(ref, 12 * n), "day"


def _month_number(token: str) -> int:
    return _MONTH_ABBR[token.lower().rstrip(".")[:3]]


def _nearest_year(ref: date, month: int, day: int) -> date | None:
    try:
        candidate = date(ref.year, month, day)
    except ValueError:
        return None
    if candidate < ref - timedelta(days=183):
        try:
            candidate = date(ref.year + 1, month, day)
        except ValueError:
            return None
    return candidate


def next_weekday(ref: date, weekday: int) -> date:
    """The next given weekday strictly after ``ref``."""
    return ref + timedelta(days=(weekday - ref.weekday() - 1) % 7 + 1)


def previous_weekday(ref: date, weekday: int) -> date:
    """The most recent given weekday strictly before ``ref``."""
    return ref - timedelta(days=(ref.weekday() - weekday - 1) % 7 + 1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _resolve(kind: str, m: re.Match[str], ref: date) -> tuple[date, str] | None:
    if kind == "day_after_tomorrow":
        return ref + timedelta(days=2), "day"
    if kind == "day_before_yesterday":
        return ref - timedelta(days=2), "day"
    if kind == "today":
        return ref, "day"
    if kind == "tomorrow":
        return ref + timedelta(days=1), "day"
    if kind == "yesterday":
        return ref - timedelta(days=1), "day"
    if kind == "in_n":
        count = re.match(rf"in ({_NUM}) ", m.group(0), re.I)
        assert count is not None
        return _shift(ref, _count(count.group(1)), m.group(1))
    if kind == "n_ago":
        count = re.match(rf"({_NUM}) ", m.group(0), re.I)
        assert count is not None
        return _shift(ref, -_count(count.group(1)), m.group(1))
    if kind == "rel_weekday":
        which, name = m.group(1).lower(), WEEKDAYS.index(m.group(2).lower())
        if which == "next":
            return week_start(ref) + timedelta(days=7 + name), "day"
        if which == "last":
            return previous_weekday(ref, name), "day"
        return next_weekday(ref, name), "day"
    if kind == "rel_period":
        which, unit = m.group(1).lower(), m.group(2).lower()
        step = {"next": 1, "last": -1, "this": 0}[which]
        if unit == "week":
            return week_start(ref) + timedelta(weeks=step), "week"
        if unit == "month":
            return add_months(ref.replace(day=1), step), "month"
        return date(ref.year + step, 1, 1), "year"
    if kind in ("month_day", "day_month"):
        month_tok, day_tok = (m.group(1), m.group(2)) if kind == "month_day" else (m.group(2), m.group(1))
        month, day, year = _month_number(month_tok), int(day_tok), m.group(3)
        if year:
            try:
                return date(int(year), month, day), "day"
            except ValueError:
                return None
        resolved = _nearest_year(ref, month, day)
        return (resolved, "day") if resolved else None
    if kind == "the_nth":
        day = int(m.group(1))
        if not 1 <= day <= 31:
            return None
        probe = ref.replace(day=1)
        for _ in range(3):
            if day <= calendar.monthrange(probe.year, probe.month)[1]:
                candidate = probe.replace(day=day)
                if candidate >= ref:
                    return candidate, "day"
            probe = add_months(probe, 1)
        return None
    if kind == "weekday":
        return next_weekday(ref, WEEKDAYS.index(m.group(1).lower())), "day"
    return None


def format_value(value: date, granularity: str) -> str:
    if granularity == "week":
        return f"the week of {value.isoformat()}"
    if granularity == "month":
        return f"{calendar.month_name[value.month]} {value.year}"
    if granularity == "year":
        return str(value.year)
    return value.isoformat()


_RECURRING_BEFORE = re.compile(r"\b(?:every|each|most|some|all|other|on alternate)\s+$", re.I)
_PREP_BEFORE = re.compile(r"\b(" + "|".join(PREPOSITIONS) + r")\s+$", re.I)


def find_dates(text: str, reference: datetime | date) -> list[DateMention]:
    """Every recognised date expression in ``text``, left to right, without overlaps."""
    ref = reference_date(reference)
    taken: list[tuple[int, int]] = [(m.start(), m.end()) for m in _ISO.finditer(text)]
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(start < e and s < end for s, e in taken):
                continue
            if kind == "weekday" and _RECURRING_BEFORE.search(text, 0, start):
                continue  # "every Sunday" is a habit, not a date
            resolved = _resolve(kind, m, ref)
            if resolved is None:
                continue
            value, granularity = resolved
            formatted = format_value(value, granularity)
            prep = _PREP_BEFORE.search(text, 0, start)
            if prep and prep.end() == start and not (prep.group(1).lower() == "in" and granularity == "day"):
                replacement = formatted
            elif granularity == "day":
                replacement = f"on {formatted}"
            else:
                replacement = f"in {formatted}"
            taken.append((start, end))
            found.append(DateMention(start, end, m.group(0), value, granularity, replacement))
    return sorted(found, key=lambda d: d.start)


def resolve_dates(text: str, reference: datetime | date) -> str:
    """``text`` with every recognised date expression replaced by its resolved calendar form."""
    out: list[str] = []
    position = 0
    for mention in find_dates(text, reference):
        out.append(text[position : mention.start])
        out.append(mention.replacement)
        position = mention.end
    out.append(text[position:])
    return "".join(out)


_MONTH_YEAR = re.compile(r"\b(?:" + "|".join(m.capitalize() for m in MONTHS) + r") \d{4}\b")


def has_date(text: str) -> bool:
    """True when ``text`` holds a resolved date: ISO day, ``Month YYYY`` or ``the week of``."""
    return bool(_ISO.search(text) or _MONTH_YEAR.search(text)) or "the week of" in text
