"""What a matched rule turns a clause into: third-person facts with their preferred topics.

The builders of :data:`contextiq.ai.extractors.heuristic.rules.RULES`. A few (remember, forget, "no
longer") classify the statement they wrap; they reach :func:`~.rules.classify` through :func:`_classify`,
which imports it on call because the rule table itself refers to these builders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from contextiq.ai.extractors.base import (
    ALL_MANAGED_TOPICS,
    EXPLICIT_INSTRUCTIONS,
    KEY_CONVERSATION_DETAILS,
    USER_PERSONAL_INFO,
    USER_PREFERENCES,
)
from contextiq.ai.extractors.dates import has_date
from contextiq.ai.extractors.facts import parse_retraction
from contextiq.ai.extractors.speaker import (
    conjugate_third_person,
    possessive,
    second_person_to_assistant,
    third_person,
)

PERSONAL = USER_PERSONAL_INFO
PREFERENCES = USER_PREFERENCES
DETAILS = KEY_CONVERSATION_DETAILS
INSTRUCTIONS = EXPLICIT_INSTRUCTIONS
ALL_MANAGED = ALL_MANAGED_TOPICS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Context:
    subject: str  # "Alice" or "The user"


@dataclass(frozen=True)
class Match:
    fact: str
    topics: tuple[str, ...]  # preferred order; the first requested one is used
    rule: str


Builder = Callable[[re.Match[str], str, Context], Match | None]


def _tp(text: str, ctx: Context) -> str:
    return third_person(text, ctx.subject)


def _mid(text: str) -> str:
    """A sentence continued in the middle of another: "The user's..." -> "the user's..."."""
    if text.startswith("The user"):
        return "t" + text[1:]
    first = text.split(" ", 1)[0]
    if first in {"The", "A", "An", "To", "That", "This", "Our", "Your", "Always", "Never"}:
        return text[:1].lower() + text[1:]
    return text


def whole(rule: str, *topics: str) -> Builder:
    def build(m: re.Match[str], text: str, ctx: Context) -> Match | None:
        return Match(_tp(text, ctx), topics, rule)

    return build


def instruction(kind: str) -> Builder:
    def build(m: re.Match[str], text: str, ctx: Context) -> Match | None:
        body = m.group("x").strip()
        if len(body.split()) < 2:
            return None
        action = second_person_to_assistant(third_person(body, ctx.subject, capitalize=False))
        return Match(f"{ctx.subject} asks the assistant to {kind} {action}", (INSTRUCTIONS, PREFERENCES), kind)

    return build


def build_relationship(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    # "my dog's name is Rex" -> "Alice's dog is called Rex" (one form for one attribute)
    text = re.sub(r"^(my [\w -]+?)'s name is\b", r"\1 is called", text, flags=re.I)
    return Match(_tp(text, ctx), (PERSONAL, DETAILS), "relationship")


def build_name(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    return Match(f"The user's name is {m.group('name')}", (PERSONAL,), "name")


def build_call_me(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    return Match(f"{ctx.subject} wants to be called {m.group('nick')}", (INSTRUCTIONS, PERSONAL), "call_me")


def build_remember(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = m.group("x").strip()
    if body.lower().startswith("to "):
        reminder = third_person(body, ctx.subject, capitalize=False)
        return Match(f"{ctx.subject} wants to be reminded {reminder}", (INSTRUCTIONS, DETAILS), "remember")
    inner = _classify(body, ctx)
    fact = inner.fact if inner else _tp(body, ctx)
    if len(fact.split()) < 3:
        return None
    return Match(fact, (INSTRUCTIONS, *(inner.topics if inner else ALL_MANAGED)), "remember")


def build_remind(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = third_person(m.group("x"), ctx.subject, capitalize=False)
    return Match(f"{ctx.subject} wants to be reminded {body}", (INSTRUCTIONS, DETAILS), "remind")


# a fact ending on a pronoun is not self-contained: "The user loves it", "The user will take the first one"
VAGUE_ENDINGS = frozenset({"it", "that", "this", "one", "them", "there", "so", "those", "these"})
_VAGUE = frozenset({"it", "that", "this", "everything", "all that", "all of it", "about it", "what i said"})


def build_forget(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = m.group("x").strip()
    if body.lower() in _VAGUE or len(body.split()) < 2:
        return None
    inner = _classify(body, ctx)
    topics = (INSTRUCTIONS, *(inner.topics if inner else ()), *ALL_MANAGED)
    if inner and parse_retraction(inner.fact) is None:
        return Match(f"{ctx.subject} asked to forget that {_mid(inner.fact)}", topics, "forget")
    # a noun phrase: "forget my dentist appointment"
    return Match(f"{ctx.subject} asked to forget {third_person(body, ctx.subject, capitalize=False)}", topics, "forget")


def _positive_first_person(text: str) -> str:
    """ "I am not vegetarian anymore" -> "I am vegetarian" (used to find the retracted statement's topic)."""
    text = re.sub(r"\s*\b(?:any ?more|any longer)\b", "", text, flags=re.I)
    text = re.sub(r"\bI am (?:not|no longer)\b", "I am", text)
    text = re.sub(r"\bI (?:do not|don't|no longer)\b", "I", text)
    return re.sub(r"\b(?:is|are) (?:not|no longer)\b", "is", text)


def build_no_longer(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    """State retractions, normalised to the "no longer" form the decider recognises."""
    fact = _tp(text, ctx)
    fact = re.sub(r"\s*\b(?:any ?more|any longer)\b", "", fact, flags=re.I)
    if not re.search(r"\bno longer\b", fact):
        fact = re.sub(
            r"\b(?:doesn't|does not) (\w+)",
            lambda v: "no longer " + conjugate_third_person(v.group(1)),
            fact,
            count=1,
        )
    if not re.search(r"\bno longer\b", fact):
        fact = re.sub(r"\b(is|are|was|can|will)(?: not|n't)\b", r"\1 no longer", fact, count=1)
        fact = re.sub(r"\bcannot\b", "can no longer", fact, count=1)
        fact = re.sub(r"\bwon't\b", "will no longer", fact, count=1)
    if not re.search(r"\bno longer\b", fact):
        return None
    inner = _classify(_positive_first_person(text), ctx, allow_retraction=False)
    topics = (*(inner.topics if inner else ()), INSTRUCTIONS, *ALL_MANAGED)
    return Match(fact, topics, "no_longer")


THE_DETAIL = re.compile(
    r"^(?:the|our) (?P<rest>(?:[\w'-]+ ){0,5}?(?:is|are|was|will be|starts|begins|ends|leaves|"
    r"departs|arrives|"
    r"lands|got|has been|costs|takes place)\b.+)$",
    re.I,
)


def build_the_detail(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    if not (has_date(text) or _MONEY.search(text)):
        return None
    rest = _tp(m.group("rest"), ctx)
    return Match(f"{possessive(ctx.subject)} {rest[:1].lower()}{rest[1:]}", (DETAILS,), "the_detail")


_PERSONAL_NOUNS = _words(
    "address email e-mail phone birthday job occupation profession hometown age nationality "
    "height surname maiden middle blood zip postcode username handle"
)
_BUDGET_NOUNS = _words("budget limit price range spending max maximum")
_IGNORED_NOUNS = _words(
    "question point guess concern bad pleasure mistake turn problem issue apologies day internet "
    "answer idea thought understanding head mind feeling bet plan name"
)


def build_my_detail(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    noun_words = set(m.group("noun").lower().split())
    if noun_words & _IGNORED_NOUNS:
        return None
    if noun_words & _PERSONAL_NOUNS:
        topics: tuple[str, ...] = (PERSONAL, DETAILS)
    elif noun_words & _BUDGET_NOUNS:
        topics = (DETAILS, PREFERENCES)
    else:
        topics = (DETAILS,)
    return Match(_tp(text, ctx), topics, "my_detail")


def build_dated(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    if not (has_date(text) or _MONEY.search(text)):
        return None
    return Match(_tp(text, ctx), (DETAILS,), "dated_detail")


_MONEY = re.compile(
    r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:k\b|dollars|euros|pounds|bucks|usd|eur|gbp|chf|yen)|\b(?:usd|eur|gbp)\s?\d",
    re.I,
)


def _classify(clause: str, ctx: Context, *, allow_retraction: bool = True) -> Match | None:
    from contextiq.ai.extractors.heuristic.rules import classify

    return classify(clause, ctx, allow_retraction=allow_retraction)
