"""The local, model-free extractor and decider: deterministic rules, documented in docs/extraction.md.

:class:`HeuristicExtractor` reads the user's turns sentence by sentence and turns the sentences that match
a rule (identity, preferences, plans, relationships, instructions, retractions, key details, custom-topic
keywords) into self-contained third-person facts with resolved dates and their source event ids.
:class:`HeuristicDecider` merges one candidate with the similar stored memories (NOOP / UPDATE / DELETE /
ADD) using the comparisons in :mod:`contextiq.ai.extractors.facts`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from contextiq.ai.extractors.base import (
    MANAGED_TOPICS,
    Action,
    CandidateFact,
    Decision,
    ExistingMemory,
    Extraction,
    FewShotExample,
    Topic,
    Turn,
)
from contextiq.ai.extractors.dates import has_date, resolve_dates
from contextiq.ai.extractors.facts import (
    Relation,
    RetractionKind,
    content_tokens,
    normalize,
    parse_retraction,
    relate,
    stem,
    value_tokens,
)
from contextiq.ai.extractors.speaker import (
    DEFAULT_SUBJECT,
    conjugate_third_person,
    expand_first_person,
    possessive,
    second_person_to_assistant,
    third_person,
)
from contextiq.ai.extractors.turns import is_user_turn


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PERSONAL = "USER_PERSONAL_INFO"
PREFERENCES = "USER_PREFERENCES"
DETAILS = "KEY_CONVERSATION_DETAILS"
INSTRUCTIONS = "EXPLICIT_INSTRUCTIONS"
ALL_MANAGED = (PERSONAL, PREFERENCES, DETAILS, INSTRUCTIONS)

# ---------------------------------------------------------------------------------------------------
# Sentences and clauses
# ---------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------


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


def _whole(rule: str, *topics: str) -> Builder:
    def build(m: re.Match[str], text: str, ctx: Context) -> Match | None:
        return Match(_tp(text, ctx), topics, rule)

    return build


def _instruction(kind: str) -> Builder:
    def build(m: re.Match[str], text: str, ctx: Context) -> Match | None:
        body = m.group("x").strip()
        if len(body.split()) < 2:
            return None
        action = second_person_to_assistant(third_person(body, ctx.subject, capitalize=False))
        return Match(f"{ctx.subject} asks the assistant to {kind} {action}", (INSTRUCTIONS, PREFERENCES), kind)

    return build


def _build_relationship(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    # "my dog's name is Rex" -> "Alice's dog is called Rex" (one form for one attribute)
    text = re.sub(r"^(my [\w -]+?)'s name is\b", r"\1 is called", text, flags=re.I)
    return Match(_tp(text, ctx), (PERSONAL, DETAILS), "relationship")


def _build_name(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    return Match(f"The user's name is {m.group('name')}", (PERSONAL,), "name")


def _build_call_me(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    return Match(f"{ctx.subject} wants to be called {m.group('nick')}", (INSTRUCTIONS, PERSONAL), "call_me")


def _build_remember(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = m.group("x").strip()
    if body.lower().startswith("to "):
        reminder = third_person(body, ctx.subject, capitalize=False)
        return Match(f"{ctx.subject} wants to be reminded {reminder}", (INSTRUCTIONS, DETAILS), "remember")
    inner = classify(body, ctx)
    fact = inner.fact if inner else _tp(body, ctx)
    if len(fact.split()) < 3:
        return None
    return Match(fact, (INSTRUCTIONS, *(inner.topics if inner else ALL_MANAGED)), "remember")


def _build_remind(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = third_person(m.group("x"), ctx.subject, capitalize=False)
    return Match(f"{ctx.subject} wants to be reminded {body}", (INSTRUCTIONS, DETAILS), "remind")


# a fact ending on a pronoun is not self-contained: "The user loves it", "The user will take the first one"
_VAGUE_ENDINGS = frozenset({"it", "that", "this", "one", "them", "there", "so", "those", "these"})
_VAGUE = frozenset({"it", "that", "this", "everything", "all that", "all of it", "about it", "what i said"})


def _build_forget(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    body = m.group("x").strip()
    if body.lower() in _VAGUE or len(body.split()) < 2:
        return None
    inner = classify(body, ctx)
    topics = (INSTRUCTIONS, *(inner.topics if inner else ()), *ALL_MANAGED)
    if inner and parse_retraction(inner.fact) is None:
        return Match(f"{ctx.subject} asked to forget that {_mid(inner.fact)}", topics, "forget")
    # a noun phrase: "forget my dentist appointment"
    return Match(f"{ctx.subject} asked to forget {third_person(body, ctx.subject, capitalize=False)}", topics, "forget")


_NEGATION_AFTER_I = re.compile(r"^(?P<head>.*?\bI) (?:do not|don't|am not|cannot|can't|no longer|have not|haven't) ")


def _positive_first_person(text: str) -> str:
    """ "I am not vegetarian anymore" -> "I am vegetarian" (used to find the retracted statement's topic)."""
    text = re.sub(r"\s*\b(?:any ?more|any longer)\b", "", text, flags=re.I)
    text = re.sub(r"\bI am (?:not|no longer)\b", "I am", text)
    text = re.sub(r"\bI (?:do not|don't|no longer)\b", "I", text)
    return re.sub(r"\b(?:is|are) (?:not|no longer)\b", "is", text)


def _build_no_longer(m: re.Match[str], text: str, ctx: Context) -> Match | None:
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
    inner = classify(_positive_first_person(text), ctx, allow_retraction=False)
    topics = (*(inner.topics if inner else ()), INSTRUCTIONS, *ALL_MANAGED)
    return Match(fact, topics, "no_longer")


_THE_DETAIL = re.compile(
    r"^(?:the|our) (?P<rest>(?:[\w'-]+ ){0,5}?(?:is|are|was|will be|starts|begins|ends|leaves|"
    r"departs|arrives|"
    r"lands|got|has been|costs|takes place)\b.+)$",
    re.I,
)


def _build_the_detail(m: re.Match[str], text: str, ctx: Context) -> Match | None:
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


def _build_my_detail(m: re.Match[str], text: str, ctx: Context) -> Match | None:
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


def _build_dated(m: re.Match[str], text: str, ctx: Context) -> Match | None:
    if not (has_date(text) or _MONEY.search(text)):
        return None
    return Match(_tp(text, ctx), (DETAILS,), "dated_detail")


_MONEY = re.compile(
    r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:k\b|dollars|euros|pounds|bucks|usd|eur|gbp|chf|yen)|\b(?:usd|eur|gbp)\s?\d",
    re.I,
)
_ADV = (
    r"(?:(?:always|never|usually|often|really|also|just|still|absolutely|totally|truly|genuinely|"
    r"particularly|especially|definitely|kind of|sort of|do|now|currently|mostly|honestly|actually)\s+)*"
)
_REL = (
    r"(?:wife|husband|partner|spouse|fianc[eé]e?|boyfriend|girlfriend|daughters?|sons?|kids?|children|child|"
    r"babies|baby|mother|mom|mum|father|dad|parents|brothers?|sisters?|siblings?|twin|"
    r"grand(?:mother|father|ma|pa|"
    r"parents|son|daughter|kids|children)|aunt|uncle|cousins?|niece|nephew|in-laws|(?:mother|father|sister|"
    r"brother)-in-law|friends?|bff|boss|manager|colleagues?|co-?workers?|roommates?|flatmates?|neighbou?rs?|"
    r"team|dogs?|cats?|pets?|puppy|kitten|parrot|rabbit|hamster|horse|goldfish|turtle)"
)
_DIET = (
    r"(?:vegetarian|vegan|pescatarian|pescetarian|gluten[- ]free|lactose[- ]intolerant|diabetic|"
    r"celiac|coeliac|"
    r"kosher|halal|teetotal|sober|keto|allergic|intolerant|sensitive to|on a [\w -]*diet|a picky eater)"
)
_HABIT_FREQ = (
    r"\b(?:every|each|daily|weekly|on weekends|on the weekend|at weekends|a lot|twice|once a|most days|"
    r"in my free time|for fun|as a hobby|regularly)\b"
)

# (name, pattern on the clause with "I'm"-style contractions expanded, builder). First match wins.
RULES: list[tuple[str, re.Pattern[str], Builder]] = [
    # -- explicit instructions and retractions --------------------------------------------------------
    (
        "forget",
        re.compile(
            r"^(?:please\s+)?(?:forget|disregard|erase|delete|drop)\s+(?:that\s+|about\s+|"
            r"what I (?:said|told you) "
            r"about\s+)?(?P<x>.+)$",
            re.I,
        ),
        _build_forget,
    ),
    (
        "remember",
        re.compile(
            r"^(?:please\s+)?(?:remember|note|keep in mind|make a note|bear in mind|do not forget|"
            r"don't forget|"
            r"never forget|save|store)\s+(?:that\s+|this:?\s+)?(?P<x>.+)$",
            re.I,
        ),
        _build_remember,
    ),
    ("remind", re.compile(r"^(?:please\s+)?remind me\s+(?P<x>.+)$", re.I), _build_remind),
    (
        "no_longer",
        re.compile(
            r"^(?:I|my\b.*?)\b.*(?:\bno longer\b|\b(?:not|don't|do not|doesn't|isn't|aren't|cannot|"
            r"can't|won't)\b"
            r".*\b(?:any ?more|any longer)\b)",
            re.I,
        ),
        _build_no_longer,
    ),
    (
        "name",
        re.compile(
            r"^(?i:my name is|my name's|I am called|I go by|people call me|(?:hi|hello|"
            r"hey)[,!]?\s+(?:I am|this is))"
            r"\s+(?P<name>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)(?:\s*[,.!]|$)"
        ),
        _build_name,
    ),
    (
        "call_me",
        re.compile(
            r"^(?i:please\s+)?(?i:call me|you can call me|just call me|"
            r"refer to me as)\s+(?P<nick>[A-Z][\w'-]+)"
        ),
        _build_call_me,
    ),
    (
        "always",
        re.compile(r"^(?:please\s+)?(?:always|make sure (?:to|you)|be sure to)\s+(?P<x>.+)$", re.I),
        _instruction("always"),
    ),
    (
        "never",
        re.compile(r"^(?:please\s+(?:do not|don't|never)|never|(?:do not|don't) ever|please stop)\s+(?P<x>.+)$", re.I),
        _instruction("never"),
    ),
    (
        "want_you_to",
        re.compile(r"^I (?:want|would like|need|prefer) (?:you|that you) (?:to\s+)?(?:always\s+)?(?P<x>.+)$", re.I),
        _instruction("always"),
    ),
    # -- relationships ------------------------------------------------------------------------------
    (
        "relationship",
        re.compile(rf"^my (?:(?:best|close|old|older|younger|little|big|twin|step|ex|new)[ -])?{_REL}\b", re.I),
        _build_relationship,
    ),
    (
        "have_relation",
        re.compile(rf"^I have (?:a|an|one|two|three|four|five|six|\d+) (?:[\w-]+ ){{0,2}}?{_REL}\b", re.I),
        _whole("relationship", PERSONAL),
    ),
    (
        "marital",
        re.compile(
            r"^I am (?:happily )?(?:married|single|divorced|engaged|widowed|separated|in a relationship|"
            r"a (?:single )?(?:mother|father|mom|dad|mum|parent|grandmother|grandfather|grandparent))\b",
            re.I,
        ),
        _whole("marital", PERSONAL),
    ),
    # -- preferences ----------------------------------------------------------------------------------
    (
        "diet",
        re.compile(rf"^I am (?:not )?(?:a |an )?(?:strict |lifelong |mostly |now )?{_DIET}", re.I),
        _whole("diet", PREFERENCES, PERSONAL),
    ),
    (
        "eat_drink",
        re.compile(
            r"^I (?:do not |don't |cannot |can't |never |only |mostly |mainly |usually |"
            r"no longer )?(?:eat|drink|avoid)\b",
            re.I,
        ),
        _whole("eat_drink", PREFERENCES),
    ),
    (
        "likes",
        re.compile(
            rf"^I {_ADV}(?:like|love|adore|enjoy|prefer|hate|dislike|detest|loathe|despise|fancy|"
            r"appreciate)\b(?! to know| to ask| to check)",
            re.I,
        ),
        _whole("likes", PREFERENCES),
    ),
    (
        "dislikes",
        re.compile(
            r"^I (?:do not|don't|did not|didn't) (?:really |particularly |much )?(?:like|love|"
            r"enjoy|care for|mind)\b"
            r"|^I (?:cannot|can't|could not|couldn't) stand\b",
            re.I,
        ),
        _whole("dislikes", PREFERENCES),
    ),
    (
        "fan_of",
        re.compile(
            r"^I am (?:not )?(?:really |also |a (?:big |huge |massive )?fan of|into|obsessed with|"
            r"crazy about|"
            r"passionate about|keen on|fond of|partial to|afraid of|scared of|terrified of)",
            re.I,
        ),
        _whole("fan_of", PREFERENCES),
    ),
    (
        "rather",
        re.compile(r"^I would (?:much )?(?:rather|prefer)\b|^I would (?:like|love) (?!to\b)", re.I),
        _whole("rather", PREFERENCES),
    ),
    (
        "favourite",
        re.compile(r"^my (?:all-time |absolute )?(?:favou?rite|preferred|go-to)\b", re.I),
        _whole("favourite", PREFERENCES),
    ),
    (
        "habit",
        re.compile(
            r"^I (?:always|never|usually|often|normally|typically|generally|rarely|sometimes|"
            r"tend to|regularly|"
            r"mostly)\b",
            re.I,
        ),
        _whole("habit", PREFERENCES),
    ),
    (
        "hobby",
        re.compile(
            r"^I (?:play|practi[cs]e|collect|knit|paint|meditate|do yoga|sing|dance)\b"
            rf"|^I (?:go|do|watch|listen to|read|cook|bake|run|jog|swim|cycle|bike|hike|ski|surf|"
            rf"climb|draw|write|"
            rf"travel|work out|exercise|train)\b.*{_HABIT_FREQ}",
            re.I,
        ),
        _whole("hobby", PREFERENCES),
    ),
    # -- identity -------------------------------------------------------------------------------------
    (
        "age",
        re.compile(r"^I am (?:\d{1,3})(?: years old| years of age| yo)?$|^I (?:just )?turned \d{1,3}\b", re.I),
        _whole("age", PERSONAL),
    ),
    (
        "residence",
        re.compile(
            rf"^I {_ADV}(?:live|am living|reside|am based|am located|have been living|have lived)\s+"
            r"(?:in|at|near|on|outside|with|by)\b"
            r"|^I (?:have |just |recently |finally )*(?:moved|relocated)\b|^I am (?:moving|relocating)\b"
            r"|^I will (?:be )?mov(?:e|ing)\b",
            re.I,
        ),
        _whole("residence", PERSONAL, DETAILS),
    ),
    (
        "origin",
        re.compile(r"^I am (?:originally )?from\b|^I (?:grew up|was raised|was born)\b", re.I),
        _whole("origin", PERSONAL),
    ),
    (
        "work",
        re.compile(
            rf"^I {_ADV}(?:work|am working|have been working|have worked)\s+"
            r"(?:as|at|for|in|on|with|from|part-time|full-time)\b",
            re.I,
        ),
        _whole("work", PERSONAL),
    ),
    (
        "i_am_a",
        re.compile(
            r"^I am (?:a|an) (?!bit\b|little\b|lot\b|fan\b|big fan|huge fan|few\b|couple\b|question\b)\w"
            r"|^I am (?:retired|unemployed|self-employed|pregnant|colou?rblind|left-handed|right-handed|"
            r"an introvert|an extrovert|a student|studying)\b",
            re.I,
        ),
        _whole("i_am_a", PERSONAL),
    ),
    (
        "skills",
        re.compile(
            r"^I (?:speak|study|teach|own|founded|co-founded|manage|lead|drive|am learning|am studying|"
            r"am fluent in|am a native speaker)\b|^I run (?:a|an|my|the)\b|^I have (?:a|"
            r"an) (?:degree|phd|masters|"
            r"master's|bachelor's|diploma)\b",
            re.I,
        ),
        _whole("skills", PERSONAL),
    ),
    # -- plans and key details ------------------------------------------------------------------------
    (
        "plan",
        re.compile(
            rf"^I am {_ADV}(?:going|flying|travell?ing|heading|driving|leaving|visiting|attending|"
            r"meeting|seeing|taking|starting|planning|hoping|thinking (?:of|about)|about to|getting|"
            r"hosting|celebrating|returning|coming|spending|staying|booking|renting|buying|selling|"
            r"training|preparing|organi[sz]ing|running|joining|presenting|interviewing|applying|"
            r"saving|looking (?:for|to)|considering|due)\b"
            r"(?! to (?:know|ask|check|need|have to)\b| late\b| out of\b)",
            re.I,
        ),
        _whole("plan", DETAILS),
    ),
    (
        "intent",
        re.compile(
            r"^I (?:will|would like to|would love to|want to|wanna|plan to|intend to|hope to|"
            r"need to|have to|must|"
            r"have got to|got to|am supposed to|should|might|may|am going to)\s+"
            r"(?!know|ask|check|see if|find out|confirm|understand|clarify|make sure|be honest|say|tell you|"
            r"go\b|think|get going|talk to you|need more|have a look|look\b|try\b|wait\b|pass\b|get back|"
            r"be right back|do (?:that|it|this)\b|take (?:that|it|this|the first|the second|the last|one)\b)",
            re.I,
        ),
        _whole("intent", DETAILS),
    ),
    (
        "booked",
        re.compile(
            r"^I (?:have |just |already |finally )*(?:booked|reserved|bought|purchased|ordered|"
            r"paid|signed up|"
            r"registered|scheduled|rescheduled|cancell?ed|confirmed|rented|applied|spent|accepted|"
            r"received|won|"
            r"finished|completed|passed|failed|quit|retired|graduated|adopted|got (?:a|an|my|married|engaged|"
            r"promoted|hired)|was (?:promoted|hired|accepted))\b",
            re.I,
        ),
        _whole("booked", DETAILS),
    ),
    (
        "appointment",
        re.compile(
            r"^I have (?:a|an|my|the|two|three|\d+)? ?(?:[\w-]+ ){0,2}?(?:appointment|meeting|"
            r"interview|exam|flight|"
            r"reservation|booking|date|call|deadline|test|wedding|party|conference|trip|vacation|"
            r"holiday|surgery|"
            r"check-?up|presentation|game|match|concert|class|lesson|shift|birthday|tickets?)s?\b",
            re.I,
        ),
        _whole("appointment", DETAILS),
    ),
    (
        "my_detail",
        re.compile(
            r"^my (?P<noun>(?:[\w'-]+ ){0,3}?[\w'-]+) (?:is|are|was|were|will be|starts|begins|"
            r"ends|leaves|departs|"
            r"arrives|lands|expires|costs|takes off|has|got)\s+\S",
            re.I,
        ),
        _build_my_detail,
    ),
    ("the_detail", _THE_DETAIL, _build_the_detail),
    ("dated_detail", re.compile(r"^(?:I|my)\b", re.I), _build_dated),
]


def classify(clause: str, ctx: Context, *, allow_retraction: bool = True) -> Match | None:
    """The first rule matching a (first-person) clause, as a third-person fact with preferred topics."""
    text = expand_first_person(clause.strip().rstrip(" .!"))
    for name, pattern, build in RULES:
        if name == "no_longer" and not allow_retraction:
            continue
        m = pattern.search(text)
        if m is None:
            continue
        result = build(m, text, ctx)
        if result is None:
            continue
        return Match(_finish(result.fact), result.topics, result.rule)
    return None


def _finish(fact: str) -> str:
    fact = re.sub(r"\s+", " ", fact).strip().rstrip(" .!,;:")
    return fact[:1].upper() + fact[1:]


# ---------------------------------------------------------------------------------------------------
# Custom topics: keyword overlap with the description and the few-shot facts
# ---------------------------------------------------------------------------------------------------

_GENERIC_WORDS = _words(
    "thing things say says said talk talks mention mentions mentioned detail details info information "
    "user users fact facts related relating anything stuff about everything something kind type kinds "
    "types like likes love loves prefer prefers enjoy enjoys want wants hate hates include includes "
    "including such e.g example examples etc topic topics remember store keep track any their them "
    "they his her person people assistant agent conversation"
)


def _keywords(text: str, drop: set[str]) -> set[str]:
    return {t for t in content_tokens(text) if t not in drop and t not in {stem(w) for w in _GENERIC_WORDS}}


@dataclass
class _CustomTopic:
    label: str
    keywords: set[str] = field(default_factory=set)


def _custom_topics(topics: Sequence[Topic], examples: Sequence[FewShotExample]) -> list[_CustomTopic]:
    custom = [
        _CustomTopic(t.label, _keywords(f"{t.label.replace('_', ' ')} {t.description}", set()))
        for t in topics
        if t.label not in MANAGED_TOPICS
    ]
    if not custom:
        return []
    for example in examples:
        for fact in example.facts:
            names = value_tokens(fact) | {normalize(fact).split(" ")[0]} if fact else set()
            words = _keywords(fact, {stem(n) for n in names})
            if len(custom) == 1:
                custom[0].keywords |= words
                continue
            overlaps = [len(words & c.keywords) for c in custom]
            best = max(overlaps)
            for c, overlap in zip(custom, overlaps, strict=True):
                if best > 0 and overlap == best:
                    c.keywords |= words
    return custom


# ---------------------------------------------------------------------------------------------------
# The extractor
# ---------------------------------------------------------------------------------------------------

_NAME_STOPWORDS = _words(
    "Canadian American British English French German Italian Spanish Vegan Vegetarian Back Fine Good "
    "Here New Not Sorry Ready Happy Glad Excited Done Home Going Looking Just"
)


@dataclass
class _Candidate:
    fact: str
    topic: str
    event_ids: list[str]


class HeuristicExtractor:
    """Rule-based extraction of facts from the user's turns (see docs/extraction.md for every rule)."""

    def __init__(self, *, subject_fallback: str = DEFAULT_SUBJECT) -> None:
        self.subject_fallback = subject_fallback

    def user_name(self, turns: Sequence[Turn]) -> str | None:
        """The name the user gave in the conversation ("my name is Alice"), if any."""
        ctx = Context(self.subject_fallback)
        for turn in turns:
            if not is_user_turn(turn):
                continue
            for sentence in split_sentences(turn.text):
                for clause in split_clauses(sentence):
                    m = classify(clause, ctx)
                    if m and m.rule == "name":
                        name = m.fact.removeprefix("The user's name is ").strip()
                        if name.split()[0] not in _NAME_STOPWORDS:
                            return name
        return None

    def extract(
        self,
        turns: Sequence[Turn],
        topics: Sequence[Topic],
        examples: Sequence[FewShotExample] = (),
    ) -> Extraction:
        requested = [t.label for t in topics] or list(ALL_MANAGED)
        managed = {label for label in requested if label in MANAGED_TOPICS}
        custom = _custom_topics(topics, examples)
        ctx = Context(self.user_name(turns) or self.subject_fallback)

        candidates: list[_Candidate] = []
        for turn in turns:
            if not is_user_turn(turn) or not turn.text.strip():
                continue
            for sentence in split_sentences(turn.text):
                for clause in split_clauses(sentence):
                    candidate = self._clause_fact(clause, turn, ctx, managed, custom)
                    if candidate is not None:
                        candidates.append(candidate)
        settled = settle(candidates)
        return Extraction(facts=[CandidateFact(c.fact, c.topic, tuple(c.event_ids)) for c in settled])

    def _clause_fact(
        self, clause: str, turn: Turn, ctx: Context, managed: set[str], custom: list[_CustomTopic]
    ) -> _Candidate | None:
        resolved = resolve_dates(clause, turn.timestamp)
        if resolved != clause and resolved[:1].islower() and clause[:1].isupper():
            resolved = resolved[:1].upper() + resolved[1:]
        match = classify(resolved, ctx)
        ids = [turn.event_id] if turn.event_id else []
        if custom:
            clause_words = content_tokens(resolved)
            scored = [(len(clause_words & c.keywords), c.label) for c in custom]
            best = max(scored)
            if best[0] > 0 and len(resolved.split()) >= 3:
                label = next(label for score, label in scored if score == best[0])
                fact = match.fact if match else _finish(third_person(expand_first_person(resolved), ctx.subject))
                return _Candidate(fact, label, ids)
        if match is None:
            return None
        topic = next((t for t in match.topics if t in managed), None)
        if topic is None or len(match.fact.split()) < 3 or match.fact.split()[-1].lower() in _VAGUE_ENDINGS:
            return None
        return _Candidate(match.fact, topic, ids)


def settle(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Within one extraction: merge duplicates (keeping every source event id) and let a later statement
    replace an earlier one it updates or retracts ("I live in Paris" ... "I moved to Berlin")."""
    kept: list[_Candidate] = []
    for candidate in candidates:
        merged = False
        for earlier in list(kept):
            relation, _ = relate(candidate.fact, earlier.fact)
            if relation is Relation.DUPLICATE:
                earlier.event_ids.extend(i for i in candidate.event_ids if i not in earlier.event_ids)
                merged = True
                break
            if relation in (Relation.CHANGED, Relation.RETRACTS):
                kept.remove(earlier)
        if not merged:
            kept.append(_Candidate(candidate.fact, candidate.topic, list(candidate.event_ids)))
    return kept


# ---------------------------------------------------------------------------------------------------
# The decider
# ---------------------------------------------------------------------------------------------------


class HeuristicDecider:
    """Similarity rules (docs/extraction.md, "Decisions"): NOOP duplicates, UPDATE changed values,
    DELETE what a retraction names, ADD the rest. Deterministic: memories are visited by score, then id."""

    def decide(self, candidate: CandidateFact, similar: Sequence[ExistingMemory]) -> Decision:
        ordered = sorted(similar, key=lambda m: (-m.score, m.memory_id))
        retraction = parse_retraction(candidate.fact)
        if retraction is not None:
            for memory in ordered:
                relation, reason = relate(candidate.fact, memory.fact, memory.score)
                if relation is Relation.RETRACTS:
                    return Decision(Action.DELETE, memory.memory_id, None, f"{reason}: {memory.fact!r}")
            what = "forget request" if retraction.kind is RetractionKind.FORGET else "retraction"
            return Decision(Action.NOOP, None, None, f"{what} matches no stored memory; a retraction never adds")
        relations = [(memory, *relate(candidate.fact, memory.fact, memory.score)) for memory in ordered]
        for memory, relation, reason in relations:
            if relation is Relation.DUPLICATE:
                return Decision(Action.NOOP, memory.memory_id, None, f"duplicate of {memory.fact!r}: {reason}")
        for memory, relation, reason in relations:
            if relation is Relation.CHANGED:
                return Decision(Action.UPDATE, memory.memory_id, candidate.fact, f"{reason}: was {memory.fact!r}")
        return Decision(Action.ADD, None, candidate.fact, "new information")
