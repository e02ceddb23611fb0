"""Date expressions in a recall query become a time window that boosts what falls inside it.

Rule (reference = now, UTC):

* expressions ``ai/extractors/dates.py`` resolves (``yesterday``, ``last week``, ``May 17``, ``next
  month``, ...) give the day/week/month/year they name;
* ``in|during 2022`` (a year of four digits after ``in``, ``during``, ``of``, ``from``, ``to``,
  ``through``, ``between``, ``and``, ``before``, ``after``, ``since`` or ``until``) -> that year, so ``from
  2021 to 2023`` and ``between 2021 and 2023`` span 2021-2023; ``<Month> 2023`` -> that month;
  ``in|last <Month>`` without a year -> the most recent such month that has started (``last May`` in
  June 2024 -> May 2024; in April 2024 -> May 2023);
* several expressions -> from the earliest start to the latest end; ``before|until <expr>`` keeps only
  an upper bound (the start of the period), ``after <expr>`` only a lower bound (its end), ``since
  <expr>`` a lower bound at its start.
* an expression anchored on an event rather than a date (``before her trip``, ``after the wedding``)
  names no window and is ignored: resolving it needs a search for the anchor first (an event search for
  "trip", then ``before`` = that event's time).

The window is a *boost*, not a filter: within each source, results whose time falls in the window rank
above the others (each group keeps its order). A question's dates are often about when something
happened, not when it was said ("what did she plan for May?"), so a hard filter would lose answers; an
explicit ``after``/``before`` in the request is a hard filter and disables this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from contextiq.ai.extractors.dates import MONTHS, add_months, find_dates

_YEAR = re.compile(
    r"\b(?:in|during|of|from|to|through|between|and|before|after|since|until)\s+((?:19|20)\d{2})\b", re.I
)
_MONTH_YEAR = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+((?:19|20)\d{2})\b", re.I)
_BARE_MONTH = re.compile(r"\b(?:in|during|last|this past)\s+(" + "|".join(MONTHS) + r")\b(?!\s+\d)", re.I)
_BEFORE = re.compile(r"\b(?:before|until)\s+$", re.I)
_AFTER = re.compile(r"\bafter\s+$", re.I)
_SINCE = re.compile(r"\bsince\s+$", re.I)


@dataclass(frozen=True)
class Window:
    after: datetime | None
    before: datetime | None

    def contains(self, when: datetime) -> bool:
        return (self.after is None or when >= self.after) and (self.before is None or when < self.before)


def _period_end(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return add_months(start.replace(day=1), 1)
    if granularity == "year":
        return start.replace(year=start.year + 1, month=1, day=1)
    return start + timedelta(days=1)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def query_window(query: str, now: datetime) -> Window | None:
    """The window the query's date expressions name, or None (see the module docstring)."""
    spans: list[tuple[int, date, str]] = []  # (position, start, granularity)
    taken: list[tuple[int, int]] = []
    for m in _MONTH_YEAR.finditer(query):
        spans.append((m.start(), date(int(m.group(2)), MONTHS.index(m.group(1).lower()) + 1, 1), "month"))
        taken.append(m.span())
    for m in _YEAR.finditer(query):
        if not any(s <= m.start(1) < e for s, e in taken):
            spans.append((m.start(1), date(int(m.group(1)), 1, 1), "year"))
            taken.append(m.span())
    today = now.date()
    for m in _BARE_MONTH.finditer(query):
        if any(s <= m.start(1) < e for s, e in taken):
            continue
        month = MONTHS.index(m.group(1).lower()) + 1
        year = today.year if month <= today.month else today.year - 1
        spans.append((m.start(1), date(year, month, 1), "month"))
        taken.append(m.span())
    for mention in find_dates(query, now):
        if not any(s < mention.end and mention.start < e for s, e in taken):
            spans.append((mention.start, mention.value, mention.granularity))
    if not spans:
        return None
    first = min(spans, key=lambda s: s[0])[0]
    lower = min(start for _, start, _ in spans)
    upper = max(_period_end(start, g) for _, start, g in spans)
    if _BEFORE.search(query, 0, first):
        return Window(None, _utc(lower))
    if _AFTER.search(query, 0, first):
        return Window(_utc(upper), None)
    if _SINCE.search(query, 0, first):
        return Window(_utc(lower), None)
    return Window(_utc(lower), _utc(upper))
