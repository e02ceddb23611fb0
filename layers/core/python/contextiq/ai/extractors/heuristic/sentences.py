"""Sentences and statement clauses of a user turn (the units the rules classify)."""

from __future__ import annotations

import re

_ABBREVIATIONS = re.compile(r"\b(Mr|Mrs|Ms|Dr|St|Prof|Jr|Sr|vs|etc|approx|e\.g|i\.e|a\.m|p\.m)\.", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|;\s*|:\s+|\s+[-\u2013\u2014]\s+")
_FIRST_PERSON_START = r"(?=(?:I|I'm|I've|I'll|I'd|I am|my|My)\b)"
_CLAUSE_SPLIT = re.compile(
    r"\s*,\s*(?:(?:and|but|so|because|since|though|although|while|as|plus|also)\s+)?"
    + _FIRST_PERSON_START
    + r"|\s+(?:and|but|so|because|since|though|although|while|whereas|plus)\s+(?:also\s+)?"
    + _FIRST_PERSON_START
)
_HAS_VERB = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|'s|lives?|works?|loves?|likes?|does|did)\b", re.I
)
_FILLER = re.compile(
    r"^(?:(?:oh|ah|well|ok|okay|so|and|but|also|actually|anyway|anyways|btw|by the way|yes|yeah|yep|no|nope|"
    r"hi|hello|hey|great|cool|thanks|thank you|sure|right|alright|hmm|um|uh|plus|honestly|basically|"
    r"just so you know|fyi|for the record|as you know|oh and|and also|one more thing|besides|"
    r"from now on|going forward|in any case|to be honest|tbh|good morning|good afternoon|good evening|"
    r"perfect|awesome|nice|wow|sounds good|got it|i see|oh wait|wait|lol|haha)\b[,!.:]*\s*)+",
    re.I,
)
_TRAILING_FILLER = re.compile(r"[,\s]*\b(?:by the way|btw|though|anyway|haha|lol|thanks|thank you)\s*[.!]*$", re.I)
_QUESTION_START = re.compile(
    r"^(?:can|could|would|will|do|does|did|what|what's|where|when|how|why|who|which|is|are|should|shall|"
    r"any|anything|got)\b",
    re.I,
)


# "Hi, I'm Bob" / "Hey, this is Bob": a greeting makes "I'm <Name>" an introduction
_GREETING_INTRO = re.compile(
    r"\b((?:hi|hello|hey)(?: there)?[,!.]*\s+)(?:I'm|I am|this is|it's)\s+(?=(?-i:[A-Z][a-z]))", re.I
)


def split_sentences(text: str) -> list[str]:
    text = _GREETING_INTRO.sub(lambda m: m.group(1) + "my name is ", text)
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\x00"), text.strip())
    return [s.replace("\x00", ".").strip() for s in _SENTENCE_END.split(protected) if s and s.strip()]


def _clean(clause: str) -> str:
    clause = clause.strip().strip("\"'")
    previous = None
    while previous != clause:
        previous = clause
        clause = _FILLER.sub("", clause).strip()
        clause = _TRAILING_FILLER.sub("", clause).strip()
        clause = re.sub(r"^(?:and|but|so|also)\s+", "", clause, flags=re.I)
    return clause.rstrip(" .!,:").strip()


def split_clauses(sentence: str) -> list[str]:
    """Statement clauses of a sentence: split before a new first-person subject; questions dropped."""
    if sentence.rstrip().endswith("?"):
        # "I'm going to Rome next week, any tips?" keeps the statement before the question
        parts = [p for p in re.split(r",\s*", sentence.rstrip("? ")) if p]
        sentence = ", ".join(parts[:-1]) if len(parts) > 1 else ""
        if not sentence:
            return []
    pieces = [p for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        # "My wife and I are..." must not be split after "My wife"
        if merged and re.match(r"^\s*my\b", merged[-1], re.I) and not _HAS_VERB.search(merged[-1]):
            merged[-1] = f"{merged[-1]} and {piece}"
        else:
            merged.append(piece)
    out = []
    for piece in merged:
        clean = _clean(piece)
        if clean and not _QUESTION_START.match(clean) and not clean.endswith("?"):
            out.append(clean)
    return out
