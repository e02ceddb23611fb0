"""Comparing two fact sentences: normal form, tokens, retractions, attributes and how they relate.

Shared by the heuristic decider (candidate vs. stored memories) and the heuristic extractor (a later
candidate vs. an earlier one of the same conversation). Everything here is deterministic string work.

Retraction forms (what the heuristic extractor emits and the decider recognises):

* state change: the sentence contains ``no longer`` -- "Alice is no longer vegetarian",
  "Alice no longer lives in Paris". Its *positive* is the sentence without ``no longer``
  ("Alice is vegetarian"). Also understood: "... not ... anymore / any longer", "doesn't ... anymore".
* forget request: ``<subject> asked to forget [that] <statement>`` -- "Alice asked to forget that
  Alice's budget is $2000". Its positive is the statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    "a an the and or but if of to in on at by for with from as into about over after before than then "
    "so that this these those there here it its is are was were be been being am do does did has have "
    "had will would shall should can could may might must just very really also too not no nor only "
    "own same such some any each every all both few more most other which who whom whose what when "
    "where why how i me my mine myself we our ours you your yours he him his she her hers they them "
    "their theirs user user's s 's now still always often usually"
)
NEGATIONS = _words(
    "weren't dont hasn't no doesn't can't doesnt don't isn't never wasn't didn't won't not aren't "
    "isnt cannot haven't cant"
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """Lower case, straight quotes, no thousands separators, no punctuation but ``$ % ' - .`` in tokens."""
    text = text.translate(_APOSTROPHES).lower().strip()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"[^\w$%'\-.\s]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points only
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def stem(token: str) -> str:
    """A light stemmer: enough to equate "likes"/"like"/"liked", "lives"/"living", "flights"/"flight"."""
    token = token.removesuffix("'s").removesuffix("'")
    if len(token) <= 3 or any(c.isdigit() for c in token) or token.startswith("$"):
        return token
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith(("sses", "ches", "shes", "xes", "zes", "oes")):
        token = token[:-2]
    elif token.endswith("ing") and len(token) >= 6:
        token = token[:-3]
    elif token.endswith("ied") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith("ed") and len(token) >= 5:
        token = token[:-2]
    elif token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    if len(token) > 3 and token.endswith("e"):
        token = token[:-1]
    if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "aeiouls":
        token = token[:-1]
    return token


def content_tokens(text: str) -> set[str]:
    """Stemmed tokens without stop words or negations (so polarity is compared separately)."""
    return {stem(t) for t in tokens(text) if t not in STOPWORDS and t not in NEGATIONS and stem(t) not in STOPWORDS}


_VALUE = re.compile(r"^\$?\d[\d.,:]*(?:%|k|am|pm)?$|^\d{4}-\d{2}-\d{2}$")


def value_tokens(text: str, subject: str | None = None) -> set[str]:
    """Numbers, amounts, dates and proper nouns (capitalised words not opening the sentence)."""
    raw = text.translate(_APOSTROPHES).split()
    found: set[str] = set()
    for index, word in enumerate(raw):
        clean = re.sub(r"^[^\w$]+|[^\w%]+$", "", word).removesuffix("'s")
        if not clean:
            continue
        if _VALUE.match(clean.lower()):
            found.add(clean.lower().replace(",", ""))
        elif index > 0 and clean[0].isupper() and clean.lower() not in STOPWORDS:
            found.add(clean.lower())
    if subject:
        found.discard(subject.lower())
    return found


def negated(text: str) -> bool:
    return any(t in NEGATIONS for t in tokens(text)) and not is_retraction(text)


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


class RetractionKind(StrEnum):
    STATE = "state"
    FORGET = "forget"


@dataclass(frozen=True)
class Retraction:
    kind: RetractionKind
    positive: str  # the statement being retracted


_FORGET = re.compile(r"^(?P<subject>.+?) asked to forget (?:that |about )?(?P<statement>.+)$", re.I)


def parse_retraction(text: str) -> Retraction | None:
    """Recognise the two retraction forms (module docstring); ``None`` for ordinary facts."""
    clean = text.strip().rstrip(".")
    forget = _FORGET.match(clean)
    if forget:
        statement = forget.group("statement")
        return Retraction(RetractionKind.FORGET, statement[:1].upper() + statement[1:])
    if re.search(r"\bno longer\b", clean, re.I):
        return Retraction(RetractionKind.STATE, re.sub(r"\s*\bno longer\b", "", clean, count=1, flags=re.I))
    if re.search(r"\b(?:any ?more|any longer)\b", clean, re.I) and re.search(
        r"\b(?:not|doesn't|does not|isn't|don't|do not)\b", clean, re.I
    ):
        positive = re.sub(r"\s*\b(?:any ?more|any longer)\b", "", clean, flags=re.I)
        positive = re.sub(r"\s*\b(?:not|doesn't|does not|isn't|don't|do not)\b", "", positive, count=1, flags=re.I)
        return Retraction(RetractionKind.STATE, positive)
    return None


def is_retraction(text: str) -> bool:
    return parse_retraction(text) is not None


# ---------------------------------------------------------------------------------------------------
# Attributes: (subject, key, value) for single-valued properties, so "lives in Paris" vs
# "moved to Berlin" is recognised as the same attribute with a changed value.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    subject: str
    key: str
    value: str


_SUBJECT = r"(?P<subject>.+?)"
_WORKS = r"(?:works|is working|has been working|has worked)"
_ATTRIBUTE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(r"^(?P<subject>the user)'s name is (?P<value>.+)$")),
    (
        "residence",
        re.compile(
            rf"^{_SUBJECT} (?:now )?(?:(?:lives|is living|has been living|has lived|is based|resides) in|"
            r"(?:has moved|moved|relocated|has relocated|is moving|will move|is relocating)(?: from .+?)? to) "
            r"(?P<value>.+)$"
        ),
    ),
    ("employer", re.compile(rf"^{_SUBJECT} (?:now )?{_WORKS} (?:at|for) (?P<value>.+)$")),
    ("occupation", re.compile(rf"^{_SUBJECT} (?:now )?{_WORKS} as (?P<value>.+)$")),
    ("age", re.compile(rf"^{_SUBJECT} (?:is|just turned|turned) (?P<value>\d{{1,3}})(?: years? old)?$")),
    (
        "diet",
        re.compile(
            rf"^{_SUBJECT} is (?:now )?(?:an? )?(?:strict )?"
            r"(?P<value>vegetarian|vegan|pescatarian|pescetarian|omnivore|omnivorous|flexitarian|carnivore|keto)$"
        ),
    ),
    (
        "relationship_status",
        re.compile(rf"^{_SUBJECT} is (?:now )?(?P<value>married|single|divorced|engaged|widowed|in a relationship)$"),
    ),
    ("origin", re.compile(rf"^{_SUBJECT} is (?:originally )?from (?P<value>.+)$")),
    ("nickname", re.compile(rf"^{_SUBJECT} wants to be called (?P<value>.+)$")),
]
_POSSESSIVE = re.compile(
    r"^(?P<subject>[^']+?)'s (?P<noun>(?:[a-z0-9$-]+ ){0,3}?[a-z0-9$-]+) (?:is|are|will be|"
    r"was) (?P<value>.+)$"
)
_KEY_QUALIFIERS = frozenset({"called", "named", "a", "an", "on", "at", "in", "from", "to", "until", "due"})


def attribute(text: str) -> Attribute | None:
    """The single-valued attribute a fact states, if it matches a known shape."""
    clean = normalize(text)
    for key, pattern in _ATTRIBUTE_PATTERNS:
        m = pattern.match(clean)
        if m:
            value = m.group("value").strip()
            if key == "residence":
                value = re.sub(r" (?:on|in|since) (?:\d{4}-\d{2}-\d{2}|the week of .*|[a-z]+ \d{4}|\d{4})$", "", value)
            return Attribute(m.group("subject").strip(), key, value)
    m = _POSSESSIVE.match(clean)
    if m:
        value = m.group("value").strip()
        first = value.split()[0]
        key = "poss:" + m.group("noun") + (f":{first}" if first in _KEY_QUALIFIERS else "")
        return Attribute(m.group("subject").strip(), key, value)
    return None


def same_subject(a: str, b: str) -> bool:
    """Equal subjects, or "the user" and a plain name (both are the user of the scope)."""
    a, b = a.lower().strip(), b.lower().strip()
    if a == b:
        return True
    plain = re.compile(r"^[a-z][a-z .-]*$")
    return (a == "the user" and bool(plain.match(b))) or (b == "the user" and bool(plain.match(a)))


# numbers and dates standing alone: "Town0" is a name, not a number
_MASK = re.compile(r"(?<![\w$])(?:\$?\d[\d.,:]*(?:%|k|am|pm)?|\d{4}-\d{2}-\d{2})(?!\w)|the week of \S+")


def masked(text: str) -> str:
    return _MASK.sub("#", normalize(text))


_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december) \d{4}\b|\b(?:in|since|of) (?:19|20)\d{2}\b|the week of \S+"
)
_PAST = re.compile(
    r"\b(?:was|were|had|did|went|ran|got|made|took|saw|met|won|lost|left|bought|sold|came|began|became|"
    r"flew|gave|grew|wrote|read|spent|paid|held|found|told|felt|kept|built|taught|caught|won|"
    r"[a-z]{2,}ed)\b"
)


def times(text: str) -> frozenset[str]:
    """The explicit times a fact is anchored at: ISO dates, "April 2024", "in 1990", "the week of ..."."""
    return frozenset(
        m.group(0).removeprefix("in ").removeprefix("since ").removeprefix("of ")
        for m in _TIME.finditer(normalize(text))
    )


def past_event(text: str) -> bool:
    """A completed, dated event ("Alice ran a marathon on 2024-05-01", "Alice moved to Lyon in 1990"), as
    opposed to a state or a plan ("Alice lives in Lyon", "Alice is flying to Rome on 2024-05-17")."""
    words = normalize(text).split()
    verb_zone = " ".join(words[1:4])  # the verb follows a short subject
    return bool(times(text)) and bool(_PAST.search(verb_zone))


def distinct_events(candidate: str, memory: str) -> bool:
    """Two facts anchored at different explicit times, one of them a completed event: two things that
    happened, never one value replacing another (docs/extraction.md, "Facts kept apart")."""
    a, b = times(candidate), times(memory)
    return bool(a) and bool(b) and a != b and (past_event(candidate) or past_event(memory))


# ---------------------------------------------------------------------------------------------------
# How a candidate relates to one existing fact.
# ---------------------------------------------------------------------------------------------------


class Relation(StrEnum):
    DUPLICATE = "duplicate"  # -> NOOP
    CHANGED = "changed"  # same attribute, new value -> UPDATE
    RETRACTS = "retracts"  # the candidate retracts the memory -> DELETE
    UNRELATED = "unrelated"


DUPLICATE_SCORE = 0.92
DUPLICATE_JACCARD = 0.8
RETRACTION_COVERAGE = 0.75


def _subject_of(text: str) -> str:
    attr = attribute(text)
    if attr:
        return attr.subject
    words = normalize(text).split()
    subject = " ".join(words[:2]) if words[:2] in (["the", "user"], ["the", "user's"]) else (words[0] if words else "")
    return subject.removesuffix("'s")


def retracts(candidate: str, memory: str) -> bool:
    """Does the retraction ``candidate`` cancel ``memory``?"""
    retraction = parse_retraction(candidate)
    if retraction is None or is_retraction(memory):
        return False
    positive = retraction.positive
    if normalize(positive) == normalize(memory):
        return True
    pos_attr, mem_attr = attribute(positive), attribute(memory)
    if pos_attr and mem_attr and pos_attr.key == mem_attr.key and same_subject(pos_attr.subject, mem_attr.subject):
        # "Alice no longer lives in Paris" retracts "Alice lives in Paris", not "Alice lives in Rome";
        # "Alice is no longer vegetarian" also retracts "Alice is vegan" (the diet attribute).
        return pos_attr.key == "diet" or _covers(content_tokens(pos_attr.value), content_tokens(mem_attr.value))
    wanted = content_tokens(positive) - content_tokens(_subject_of(positive))
    have = content_tokens(memory)
    if not wanted or not same_subject(_subject_of(positive), _subject_of(memory)):
        return False
    return len(wanted & have) / len(wanted) >= RETRACTION_COVERAGE


def _covers(part: set[str], whole: set[str]) -> bool:
    return bool(part) and part <= whole


def relate(candidate: str, memory: str, score: float | None = None) -> tuple[Relation, str]:
    """How ``candidate`` relates to ``memory``, with a short reason. ``score`` is their cosine, if known."""
    if is_retraction(candidate):
        if retracts(candidate, memory):
            return Relation.RETRACTS, "the candidate retracts this memory"
        return Relation.UNRELATED, "retraction of something else"
    cand_norm, mem_norm = normalize(candidate), normalize(memory)
    if cand_norm == mem_norm:
        return Relation.DUPLICATE, "same text"
    mem_retraction = parse_retraction(memory)
    if mem_retraction is not None:
        # the memory says "no longer X" and the candidate says X again: X is true again
        if normalize(mem_retraction.positive) == cand_norm or retracts(memory, candidate):
            return Relation.CHANGED, "the candidate reverses a retraction"
        return Relation.UNRELATED, "different from the retracted statement"

    cand_tokens, mem_tokens = content_tokens(candidate), content_tokens(memory)
    subject = _subject_of(candidate)
    novel_values = value_tokens(candidate, subject) - value_tokens(memory, subject)
    # value words count once the memory holds them in any case ("Lisbon" vs "lisbon")
    novel_values = {v for v in novel_values if stem(v) not in mem_tokens and v not in mem_norm}
    same_polarity = negated(candidate) == negated(memory)

    if same_polarity and not novel_values:
        if jaccard(cand_tokens, mem_tokens) >= DUPLICATE_JACCARD:
            return Relation.DUPLICATE, "near-identical wording"
        if len(cand_tokens) >= 2 and cand_tokens <= mem_tokens:
            return Relation.DUPLICATE, "the memory already says this (and more)"

    if distinct_events(candidate, memory):
        return Relation.UNRELATED, "two events at different times"
    cand_attr, mem_attr = attribute(candidate), attribute(memory)
    if (
        cand_attr
        and mem_attr
        and cand_attr.key == mem_attr.key
        and same_subject(cand_attr.subject, mem_attr.subject)
        and normalize(cand_attr.value) != normalize(mem_attr.value)
    ):
        if (
            same_polarity
            and _covers(content_tokens(cand_attr.value), content_tokens(mem_attr.value))
            and not (novel_values)
        ):
            return Relation.DUPLICATE, f"the memory already states this {cand_attr.key.split(':')[-1]}"
        return Relation.CHANGED, f"same attribute ({cand_attr.key.removeprefix('poss:')}), new value"
    if masked(candidate) == masked(memory) and cand_norm != mem_norm:
        return Relation.CHANGED, "same statement with a different number or date"
    if not same_polarity and cand_tokens == mem_tokens and cand_tokens:
        return Relation.CHANGED, "the candidate contradicts the memory"
    if same_polarity and not novel_values and score is not None and score >= DUPLICATE_SCORE:
        return Relation.DUPLICATE, f"paraphrase (similarity {score:.2f})"
    return Relation.UNRELATED, "different facts"
