"""Multi-session conversations with turn-level evidence: the recall evaluation set (docs/benchmarks.md).

:func:`generate_multisession` builds, for a seed, users who talk to an assistant over several sessions
spread across weeks. Most turns are everyday requests (:data:`~.multisession_vocab.FILLERS`) and decoys
that share the words questions use (:data:`~.multisession_vocab.DECOYS`); the facts are said once, in
passing, sometimes inside a longer turn, and the user gives their name only in the first session. Each
user comes with questions of four kinds, each naming the turns that hold its evidence:

* ``single_fact``: one fact said once (the fact templates of :mod:`contextiq.evaluation.templates`,
  questions phrased without the fact's words);
* ``multi_hop``: a person introduced in one session ("my sister Julia") and news about them in a later
  one ("Julia is moving to Porto"), asked by relation only ("Which city is Ana's sibling relocating to?");
* ``temporal``: when something happened (a relative date said in a turn: "yesterday", "last Saturday"),
  what happened on a given day, which of two events came first, where the user lived before a move, and
  what was true before or since an event the user told of ("What was Ana reading before her trip to
  Cusco?": the habit said twice, once on each side of the anchor, :func:`_anchored`);
* ``open_domain``: a question answerable only by inference from what was said ("Should Ana book a cruise
  holiday?" from "I get seasick even on short ferry rides").

Questions are asked the way users ask them: most (:data:`DIRECT_SHARE`) share words with what was said
(a name, a place, an object: "What is Ana allergic to?"), the rest paraphrase it ("Which nuts should Ana
avoid?"); :attr:`RecallQuestion.phrasing` says which. A keyword baseline can find the first kind, so the set
shows whether a retriever beats it.

Nothing here is tuned to a benchmark: every sentence comes from the vocabularies, the seed decides.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from contextiq.evaluation import multisession_vocab as v
from contextiq.evaluation.templates import NAMES, TEMPLATES, Who, fill, render

DEFAULT_SEED = 20241201
DEFAULT_USERS = 6
DEFAULT_SESSIONS = 10
BASE_DAY = date(2024, 1, 8)
#: Templates whose fact is a request about the conversation rather than about the user's life.
#: (The move storyline owns residence; the dated-events storyline owns races.)
_SKIPPED_TEMPLATES = frozenset({"never", "language", "residence", "marathon"})
#: Share of questions phrased with their evidence's words (the rest paraphrase it). Real users mostly
#: name what they ask about; a set of paraphrases only would leave any keyword baseline near zero.
DIRECT_SHARE = 0.6


class Phrasing(StrEnum):
    DIRECT = "direct"  # shares words with its evidence turns (names, places, objects, verbs)
    PARAPHRASE = "paraphrase"  # shares none of its evidence's content words but names


class QuestionKind(StrEnum):
    SINGLE_FACT = "single_fact"
    MULTI_HOP = "multi_hop"
    TEMPORAL = "temporal"
    OPEN_DOMAIN = "open_domain"


@dataclass(frozen=True)
class EvalTurn:
    turn_id: str  # "ms-03/s2/t07": stable across runs, mapped to the server's event id at ingestion
    author: str
    role: str  # "user" or "model"
    text: str
    timestamp: datetime


@dataclass(frozen=True)
class EvalSession:
    session_id: str
    turns: tuple[EvalTurn, ...]


@dataclass(frozen=True)
class RecallQuestion:
    question_id: str
    kind: QuestionKind
    question: str
    answer: str
    evidence: tuple[str, ...]  # turn ids; any@k needs one of them in the top k, all@k needs all
    phrasing: Phrasing = Phrasing.PARAPHRASE


@dataclass(frozen=True)
class ExpectedFact:
    fact: str  # canonical form (docs/extraction.md) a good extraction should produce
    evidence: str  # the turn id it is said in


@dataclass(frozen=True)
class MultiSessionConversation:
    conversation_id: str
    user_id: str
    user_name: str | None
    sessions: tuple[EvalSession, ...]
    questions: tuple[RecallQuestion, ...]
    expected_facts: tuple[ExpectedFact, ...]

    @property
    def turns(self) -> tuple[EvalTurn, ...]:
        return tuple(t for s in self.sessions for t in s.turns)


# -- building blocks --------------------------------------------------------------------------------


@dataclass
class _Line:
    user: bool
    text: str
    tag: str | None = None  # evidence tag, resolved to a turn id once the session is laid out


@dataclass
class _Plan:
    """What each session must contain (exchanges of lines), and questions/facts over evidence tags."""

    sessions: list[list[list[_Line]]]
    questions: list[tuple[QuestionKind, tuple[str, Phrasing], str, tuple[str, ...]]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    tags: int = 0

    def tag(self) -> str:
        self.tags += 1
        return f"e{self.tags}"

    def say(self, session: int, text: str, reply: str) -> str:
        tag = self.tag()
        self.sessions[session].append([_Line(True, text, tag), _Line(False, reply)])
        return tag


def _ask(r: random.Random, direct: str | None, paraphrase: str) -> tuple[str, Phrasing]:
    """A question as a user would ask it: with the evidence's words (:data:`DIRECT_SHARE`), or paraphrased.
    The phrasing is provisional: :func:`_phrasing` labels the question by the words it really shares."""
    if direct and r.random() < DIRECT_SHARE:
        return direct, Phrasing.DIRECT
    return paraphrase, Phrasing.PARAPHRASE


def _words(text: str, name: str | None) -> set[str]:
    words = {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in v.STOPWORDS}
    return words - {(name or "user").lower()}


def _phrasing(question: str, said: list[str], name: str | None) -> Phrasing:
    """DIRECT when the question shares a content word (not the user's name) with an evidence turn."""
    asked = _words(question, name)
    return Phrasing.DIRECT if any(asked & _words(text, name) for text in said) else Phrasing.PARAPHRASE


def _last_saturday(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 5) % 7 or 7)


def _when(day: date, offset: int | None) -> date:
    return _last_saturday(day) if offset is None else day - timedelta(days=offset)


def _long_date(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def _wrap(r: random.Random, text: str) -> str:
    """Say a fact in passing: alone, or inside a longer turn with a request around it."""
    roll = r.random()
    if roll < 0.4:
        return text
    if roll < 0.7:
        ask, _ = r.choice(v.FILLERS)
        return f"{text} Also, {ask[0].lower()}{ask[1:]}"
    opener = r.choice(("Quick update before I forget:", "Oh, by the way,", "Long week here.", "Random thought:"))
    return f"{opener} {text}"


# -- storylines ------------------------------------------------------------------------------------


def _single_facts(r: random.Random, plan: _Plan, who: Who, days: list[date], count: int, asked: int) -> None:
    templates = [t for t in TEMPLATES if t.kind not in _SKIPPED_TEMPLATES]
    for n, template in enumerate(r.sample(templates, count)):
        session = r.randrange(len(days))
        at = datetime.combine(days[session], datetime.min.time(), UTC).replace(hour=12)
        spec = render(template, r, who, at)
        tag = plan.say(session, _wrap(r, spec.user), spec.reply)
        plan.facts.append((spec.fact, tag))
        if n < asked:
            direct = r.choice(spec.direct) if spec.direct else None
            asked_as = _ask(r, direct, r.choice(spec.questions))
            plan.questions.append((QuestionKind.SINGLE_FACT, asked_as, spec.fact, (tag,)))


def _people(r: random.Random, plan: _Plan, who: Who, days: list[date], count: int, asked: int) -> None:
    names = r.sample(v.PEOPLE, count)
    relations = r.sample(v.RELATIONS, count)
    for n, (name, (rel, alias)) in enumerate(zip(names, relations, strict=True)):
        first = r.randrange(len(days) - 1)
        later = r.randrange(first + 1, len(days))
        intro = plan.say(first, _wrap(r, fill(r.choice(v.PERSON_INTROS), {"rel": rel, "name": name})),
                         r.choice(v.ACKNOWLEDGEMENTS))  # fmt: skip
        news, question, answer, direct = r.choice(v.PERSON_NEWS)
        values = {
            "name": name,
            "rel": rel,
            "job": r.choice(v.NEW_JOBS),
            "city": r.choice(v.NEW_CITIES),
            "hobby": r.choice(v.NEW_HOBBIES),
            "ref": who.ref,
        }
        values["alias"] = fill(alias, values)
        told = plan.say(later, _wrap(r, fill(news, values)), r.choice(v.ACKNOWLEDGEMENTS))
        if n < asked:
            asked_as = _ask(r, fill(direct, values), fill(question, values))
            plan.questions.append((QuestionKind.MULTI_HOP, asked_as, fill(answer, values), (intro, told)))
    # a chain through a place: where the user volunteers, then that place's event
    org, event = r.choice(v.ORGS), r.choice(v.ORG_EVENTS)
    first = r.randrange(len(days) - 1)
    later = r.randrange(first + 1, len(days))
    joined = plan.say(first, f"I started volunteering at {org} on weekends.", "That's a lovely thing to do.")
    day = days[later] + timedelta(days=r.randint(5, 20))
    held = plan.say(later, f"The {event} is on {day:%B} {day.day}, I'm helping with the stalls.", "Sounds fun!")
    asked_as = _ask(r, f"When is the {event} at {org}?", f"When is the {event} at the place where {who.ref} gives "
                    "their time for free?")  # fmt: skip
    plan.questions.append((QuestionKind.MULTI_HOP, asked_as, day.isoformat(), (joined, held)))


def _events(r: random.Random, plan: _Plan, who: Who, days: list[date], count: int, asked: int) -> None:
    chosen = r.sample(v.EVENTS, count)
    sessions = sorted(r.sample(range(len(days)), count)) if count <= len(days) else None
    happened: list[tuple[date, str, str, str, str]] = []  # (day, tag, paraphrase, noun, said again)
    for n, (did, paraphrase, noun, direct) in enumerate(chosen):
        session = sessions[n] if sessions else r.randrange(len(days))
        when_said, offset = r.choice(v.WHEN_SAID)
        day = _when(days[session], offset)
        values = {"band": r.choice(v.BANDS), "park": r.choice(v.PARKS), "company": r.choice(v.EVENT_COMPANIES)}
        text = f"I {fill(did, values)} {when_said}."
        tag = plan.say(session, _wrap(r, text), r.choice(v.ACKNOWLEDGEMENTS))
        happened.append((day, tag, paraphrase, noun, fill(direct, values)))
    days_said = [h[0] for h in happened]
    for n, (day, tag, paraphrase, _noun, direct) in enumerate(happened[:asked]):
        if n % 2 == 0:
            asked_as = _ask(r, f"When did {who.ref} {direct}?", f"When did {who.ref} {paraphrase}?")
            plan.questions.append((QuestionKind.TEMPORAL, asked_as, day.isoformat(), (tag,)))
        elif days_said.count(day) == 1:
            asked_as = (f"What did {who.ref} do on {_long_date(day)}?", Phrasing.PARAPHRASE)  # no date was said
            plan.questions.append((QuestionKind.TEMPORAL, asked_as, paraphrase, (tag,)))
    (d1, t1, _, n1, _), (d2, t2, _, n2, _) = r.sample(happened[:asked], 2)
    if d1 != d2:
        first = n1 if d1 < d2 else n2
        asked_as = (f"Which came first for {who.ref}, the {n1} or the {n2}?", Phrasing.DIRECT)
        plan.questions.append((QuestionKind.TEMPORAL, asked_as, first, (t1, t2)))


def _move(r: random.Random, plan: _Plan, who: Who, days: list[date]) -> None:
    old, new = r.sample(v.NEW_CITIES, 2)
    first = r.randrange(len(days) // 2)
    later = r.randrange(first + 1, len(days))
    lived = plan.say(first, f"I've been renting a flat in {old} for a few years.", f"{old} sounds nice.")
    moved = plan.say(later, f"Update: I moved from {old} to {new} last month.", "Congratulations on the move!")
    plan.facts.append((f"{who.subject} moved from {old} to {new}", moved))
    asked_as = _ask(r, f"Where did {who.ref} live before moving to {new}?", f"Where was {who.ref} based before {new}?")
    plan.questions.append((QuestionKind.TEMPORAL, asked_as, old, (lived, moved)))


def _anchored(r: random.Random, plan: _Plan, who: Who, days: list[date], asked: int) -> None:
    """Habits said before and after an anchor event, asked about relative to the event only (its own
    random stream, so the other storylines' questions do not move when it changes)."""
    said, named = r.choice(v.ANCHOR_EVENTS)
    values = {"place": r.choice(v.NEW_CITIES), "company": r.choice(v.EVENT_COMPANIES), "ref": who.ref,
              "pos": f"{who.ref}'s" if who.name else "the user's"}  # fmt: skip
    middle = r.randrange(1, len(days) - 1)
    plan.say(middle, fill(said, values), r.choice(v.ACKNOWLEDGEMENTS))
    anchor = fill(named, values)
    for n, (statement, choices, question, reply) in enumerate(r.sample(v.HABITS, asked)):
        old, new = r.sample(choices, 2)
        before = plan.say(r.randrange(middle), _wrap(r, fill(statement, {"x": old})), reply)
        since = plan.say(r.randrange(middle + 1, len(days)), _wrap(r, fill(statement, {"x": new})), reply)
        asked_before = n % 2 == 0
        text = f"{fill(question, values)} {'before' if asked_before else 'after'} {anchor}?"
        answer, tag = (old, before) if asked_before else (new, since)
        plan.questions.append((QuestionKind.TEMPORAL, (text, Phrasing.DIRECT), answer, (tag,)))


def _inferences(r: random.Random, plan: _Plan, who: Who, days: list[date], count: int, asked: int) -> None:
    for n, (statement, question, answer, direct) in enumerate(r.sample(v.INFERENCES, count)):
        tag = plan.say(r.randrange(len(days)), _wrap(r, statement), r.choice(v.ACKNOWLEDGEMENTS))
        if n < asked:
            asked_as = _ask(r, fill(direct, {"ref": who.ref}), fill(question, {"ref": who.ref}))
            plan.questions.append((QuestionKind.OPEN_DOMAIN, asked_as, answer, (tag,)))


# -- laying out sessions ---------------------------------------------------------------------------


def _layout(
    r: random.Random, plan: _Plan, who: Who, user_id: str, days: list[date], turns_per_session: int, cid: str
) -> tuple[list[EvalSession], dict[str, str]]:
    sessions: list[EvalSession] = []
    tag_to_turn: dict[str, str] = {}
    for number, (day, exchanges) in enumerate(zip(days, plan.sessions, strict=True)):
        fillers = r.sample(v.FILLERS, min(len(v.FILLERS), turns_per_session // 4))
        decoys = r.sample(v.DECOYS, min(len(v.DECOYS), turns_per_session // 8))
        body = [[_Line(True, a), _Line(False, b)] for a, b in fillers + decoys] + exchanges
        r.shuffle(body)
        greeting = fill(r.choice(v.GREETINGS_FIRST), {"name": who.name}) if number == 0 and who.name else None
        reply = r.choice(v.GREETING_REPLIES if number == 0 else v.GREETING_REPLIES + v.WELCOME_BACK)
        opening = [[_Line(True, greeting or r.choice(v.GREETINGS_LATER)), _Line(False, reply)]]
        closing = [[_Line(True, r.choice(v.CLOSINGS)), _Line(False, r.choice(v.CLOSING_REPLIES))]]
        start = datetime.combine(day, datetime.min.time(), UTC).replace(hour=r.randint(8, 18), minute=r.randint(0, 59))
        turns: list[EvalTurn] = []
        session_id = f"{cid}/s{number + 1}"
        for line in (line for exchange in opening + body + closing for line in exchange):
            at = start + timedelta(minutes=len(turns), seconds=r.randint(0, 50))
            turn_id = f"{session_id}/t{len(turns) + 1:02d}"
            author, role = (user_id, "user") if line.user else ("assistant", "model")
            turns.append(EvalTurn(turn_id, author, role, line.text, at))
            if line.tag:
                tag_to_turn[line.tag] = turn_id
        sessions.append(EvalSession(session_id, tuple(turns)))
    return sessions, tag_to_turn


def _conversation(
    index: int, seed: int, sessions: int, turns_per_session: int, anchored: bool
) -> MultiSessionConversation:
    r = random.Random(f"{seed}-{index}")
    named = index % 4 != 3  # every fourth user never gives a name
    name = NAMES[(index * 7 + 3) % len(NAMES)] if named else None
    who = Who(name)
    cid = f"ms-{index + 1:02d}"
    user_id = f"{cid}-{name.lower()}" if name else f"{cid}-anon"
    day = BASE_DAY + timedelta(days=r.randint(0, 200))
    days = []
    for _ in range(sessions):
        days.append(day)
        day += timedelta(days=r.randint(3, 12))  # sessions across weeks
    plan = _Plan(sessions=[[] for _ in days])
    # more is said than asked about: the rest are facts a search must rank below the evidence
    _single_facts(r, plan, who, days, count=min(16, 2 * sessions), asked=min(6, sessions + 2))
    _people(r, plan, who, days, count=4, asked=2)
    _events(r, plan, who, days, count=min(8, len(v.EVENTS)), asked=4)
    _move(r, plan, who, days)
    _inferences(r, plan, who, days, count=min(8, sessions + 2), asked=3)
    if anchored:
        _anchored(random.Random(f"{seed}-{index}-anchored"), plan, who, days, asked=2)
    laid_out, turn_of = _layout(r, plan, who, user_id, days, turns_per_session, cid)
    said = {t.turn_id: t.text for s in laid_out for t in s.turns}
    questions = tuple(
        RecallQuestion(
            f"{cid}/q{n + 1:02d}", kind, text, answer, evidence, _phrasing(text, [said[e] for e in evidence], name)
        )
        for n, (kind, (text, _), answer, tags) in enumerate(plan.questions)
        for evidence in [tuple(turn_of[t] for t in tags)]
    )
    facts = tuple(ExpectedFact(fact, turn_of[tag]) for fact, tag in plan.facts)
    return MultiSessionConversation(cid, user_id, name, tuple(laid_out), questions, facts)


def generate_multisession(
    seed: int = DEFAULT_SEED,
    users: int = DEFAULT_USERS,
    sessions: int = DEFAULT_SESSIONS,
    turns_per_session: int = 30,
    anchored: bool = True,
) -> list[MultiSessionConversation]:
    """``users`` conversations of ``sessions`` sessions each; the same ones for the same arguments.
    ``anchored=False`` leaves out the event-anchored questions (the set as it was before them)."""
    if sessions < 2:
        raise ValueError("multi-session conversations need at least 2 sessions")
    return [_conversation(i, seed, sessions, turns_per_session, anchored and sessions >= 3) for i in range(users)]
