"""A recall evaluation set generated deterministically from templates, and the scripted demo conversation.

:func:`generate_eval_set` builds ~30 small conversations (3-10 turns, timestamps, ULID event ids) between
varied users and an assistant, from the fact templates of :mod:`contextiq.evaluation.templates`. Each
comes with the facts a good extraction should produce and 1-3 questions, phrased without the fact's own
words ("Bob is allergic to peanuts" <-> "Which nuts should Bob avoid?"), each naming the fact(s) a search
for it should retrieve. Expected facts are written in the canonical form of docs/extraction.md: third
person, the user's name (or "The user"), ISO dates resolved
against the timestamp of the turn that mentions them.

:func:`fact_matches` / :func:`match_facts` compare produced facts with expected ones (normalised text, or
the expected content words and every number, date and name present). :func:`demo_conversation` is the
scripted trip-planning conversation with the candidates and memories it must end up with.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ulid import ULID

from contextiq.ai.extractors.base import Turn
from contextiq.ai.extractors.facts import content_tokens, normalize, value_tokens
from contextiq.evaluation.templates import NAMES, TEMPLATES, Template, Who, render

DEFAULT_SEED = 20240508
DEFAULT_SIZE = 30
BASE_TIME = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    expected_facts: tuple[str, ...]  # what a search for the question should retrieve


@dataclass(frozen=True)
class EvalConversation:
    conversation_id: str
    user_id: str
    user_name: str | None  # None: the user never says their name, facts are about "The user"
    turns: tuple[Turn, ...]
    expected_facts: tuple[str, ...]
    questions: tuple[EvalQuestion, ...]


@dataclass(frozen=True)
class DemoConversation:
    user_id: str
    turns: tuple[Turn, ...]
    expected_candidates: tuple[str, ...]  # one extraction over all the turns (HeuristicExtractor)
    expected_memories: tuple[str, ...]  # what the scope holds after consolidating them


# ---------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------


def expected_facts(item: EvalConversation | EvalQuestion | DemoConversation) -> tuple[str, ...]:
    """The facts an extraction should produce (conversation), a search should retrieve (question), or
    the memories the demo scope should hold after consolidation."""
    if isinstance(item, DemoConversation):
        return item.expected_memories
    return item.expected_facts


def _canonical(text: str) -> str:
    return normalize(text).rstrip(".")


def fact_matches(expected: str, actual: str, *, coverage: float = 0.8) -> bool:
    """Equal after normalisation, or: ``actual`` holds at least ``coverage`` of the expected content words
    (stemmed) and every number, date and proper noun of the expected fact."""
    if _canonical(expected) == _canonical(actual):
        return True
    want, have = content_tokens(expected), content_tokens(actual)
    if not want:
        return False
    values = value_tokens(expected)
    actual_norm = _canonical(actual)
    if any(v not in actual_norm for v in values):
        return False
    return len(want & have) / len(want) >= coverage


@dataclass(frozen=True)
class FactMatch:
    found: tuple[tuple[str, str], ...]  # (expected, the actual fact matching it)
    missing: tuple[str, ...]
    extra: tuple[str, ...]  # actual facts matching no expected one

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missing)
        return len(self.found) / total if total else 1.0

    @property
    def precision(self) -> float:
        total = len(self.found) + len(self.extra)
        return len(self.found) / total if total else 1.0


def match_facts(
    expected: Iterable[str], actual: Iterable[str], *, exact: bool = False, coverage: float = 0.8
) -> FactMatch:
    """Match each expected fact with at most one actual fact (exact normalised match first, then
    :func:`fact_matches` unless ``exact``)."""
    remaining = list(actual)
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    for want in expected:
        hit = next((a for a in remaining if _canonical(a) == _canonical(want)), None)
        if hit is None and not exact:
            hit = next((a for a in remaining if fact_matches(want, a, coverage=coverage)), None)
        if hit is None:
            missing.append(want)
        else:
            remaining.remove(hit)
            found.append((want, hit))
    return FactMatch(tuple(found), tuple(missing), tuple(remaining))


# ---------------------------------------------------------------------------------------------------
# Conversations (the fact templates are data: contextiq.evaluation.templates)
# ---------------------------------------------------------------------------------------------------

KINDS: tuple[Template, ...] = TEMPLATES

DISTRACTORS = (
    ("Can you recommend a good restaurant nearby?", "Sure, here are three well-reviewed options."),
    ("What's the weather like this weekend?", "Mostly sunny with a light breeze."),
    ("How long does it take to get to the airport?", "About 40 minutes by train."),
    ("Could you summarise that for me?", "Of course, here is a short summary."),
)
GREETINGS = ("Hi, my name is {name}.", "Hello! My name's {name}.", "Hi, I'm {name}.", "Hey, this is {name}.")
ANON_OPENERS = ("Hi there.", "Hello!", "Hey, I need some help planning.")


def _event_id(r: random.Random, at: datetime) -> str:
    return str(ULID.from_bytes(int(at.timestamp() * 1000).to_bytes(6, "big") + r.randbytes(10)))


def _conversation(index: int, r: random.Random) -> EvalConversation:
    named = index % 5 != 4  # every fifth user never gives a name
    name = NAMES[index % len(NAMES)] if named else None
    who = Who(name)
    user_id = f"user-{index + 1:02d}" + (f"-{name.lower()}" if name else "")
    with_roles = index % 2 == 0  # odd conversations leave role unset: the author tells who speaks
    agent = ("assistant", "agent", "model")[index % 3]

    kinds = r.sample(KINDS, r.randint(2, 4))
    start = BASE_TIME + timedelta(days=3 * index, hours=r.randint(0, 9), minutes=r.randint(0, 59))
    turns: list[Turn] = []
    facts: list[str] = []
    questions: list[EvalQuestion] = []

    def add(author_is_user: bool, text: str) -> datetime:
        at = start + timedelta(minutes=2 * len(turns))
        role = ("user" if author_is_user else "model") if with_roles else None
        author = user_id if author_is_user else agent
        turns.append(Turn(author=author, text=text, timestamp=at, role=role, event_id=_event_id(r, at)))
        return at

    next_at = start
    opening = ""
    if name:
        opening = r.choice(GREETINGS).format(name=name)
        facts.append(f"The user's name is {name}")
        if r.random() < 0.3:
            questions.append(EvalQuestion("How should the assistant address this person?", (facts[-1],)))
    elif r.random() < 0.5:
        opening = r.choice(ANON_OPENERS)

    distractor_at = r.randrange(len(kinds) + 1) if len(kinds) <= 3 else -1
    for position, kind in enumerate(kinds):
        if position == distractor_at:
            ask, answer = r.choice(DISTRACTORS)
            add(True, ask)
            add(False, answer)
        next_at = start + timedelta(minutes=2 * len(turns))
        spec = render(kind, r, who, next_at)
        text = f"{opening} {spec.user}".strip() if position == 0 else spec.user
        add(True, text)
        add(False, spec.reply)
        facts.append(spec.fact)
        questions.append(EvalQuestion(r.choice(spec.questions), (spec.fact,)))
    if len(turns) < 10 and r.random() < 0.4:
        add(True, r.choice(["Thanks, that's all for now.", "Great, thank you!"]))

    wanted = questions[:]
    r.shuffle(wanted)
    chosen = tuple(wanted[: r.randint(1, min(3, len(wanted)))])
    return EvalConversation(
        conversation_id=f"eval-{index + 1:02d}",
        user_id=user_id,
        user_name=name,
        turns=tuple(turns),
        expected_facts=tuple(facts),
        questions=chosen,
    )


def generate_eval_set(seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE) -> list[EvalConversation]:
    """``size`` conversations, the same ones for the same seed."""
    r = random.Random(seed)
    return [_conversation(i, r) for i in range(size)]


def all_questions(conversations: Sequence[EvalConversation]) -> list[tuple[EvalConversation, EvalQuestion]]:
    return [(c, q) for c in conversations for q in c.questions]


# ---------------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------------

DEMO_START = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)  # a Wednesday
DEMO_SCRIPT: tuple[tuple[str, str], ...] = (
    ("user", "Hi! My name is Alice and I'm planning a trip to Lisbon."),
    ("assistant", "Nice to meet you, Alice! Lisbon is lovely. When are you going?"),
    ("user", "I'm flying to Lisbon next Friday and staying for a week."),
    ("assistant", "Great. Do you have a budget in mind?"),
    ("user", "My budget is $2000 for the whole trip."),
    ("assistant", "Perfect. Any dietary needs I should know about?"),
    ("user", "I'm vegetarian, and I'm allergic to peanuts."),
    ("assistant", "Noted: you're vegetarian and allergic to peanuts. Where will you fly from?"),
    ("user", "I live in Paris."),
    ("assistant", "Got it. What kind of hotel do you like?"),
    ("user", "I prefer boutique hotels over big chains. Please always give me prices in euros."),
    ("assistant", "Will do. Here are three boutique hotels in Alfama, with prices in euros."),
    ("user", "Can you find something with a rooftop terrace?"),
    ("assistant", "Memmo Alfama has a rooftop terrace, at 180 euros per night."),
    ("user", "Actually, my budget is $2500 now."),
    ("assistant", "Thanks, I've updated your budget to $2500."),
    ("user", "Oh, and I moved to Berlin last month."),
    ("assistant", "Congratulations on the move! I'll look at flights from Berlin instead."),
    ("user", "Also, I'm not vegetarian anymore, I eat fish now."),
    ("assistant", "Good to know: Lisbon is famous for its grilled fish."),
    ("user", "My sister Emma is joining me for the weekend."),
    ("assistant", "Lovely! Shall I look for a room with two beds?"),
    ("user", "Yes please. Forget that I prefer boutique hotels. Any good hotel is fine."),
    ("assistant", "Understood, I'll widen the search to all well-rated hotels."),
)
DEMO_CANDIDATES = (
    "The user's name is Alice",
    "Alice is planning a trip to Lisbon",
    "Alice is flying to Lisbon on 2024-05-17 and staying for a week",
    "Alice is allergic to peanuts",
    "Alice asks the assistant to always give Alice prices in euros",
    "Alice's budget is $2500 now",
    "Alice moved to Berlin in April 2024",
    "Alice is no longer vegetarian",
    "Alice eats fish now",
    "Alice's sister Emma is joining Alice for the weekend",
    "Alice asked to forget that Alice prefers boutique hotels",
)
DEMO_MEMORIES = (
    "The user's name is Alice",
    "Alice is planning a trip to Lisbon",
    "Alice is flying to Lisbon on 2024-05-17 and staying for a week",
    "Alice is allergic to peanuts",
    "Alice asks the assistant to always give Alice prices in euros",
    "Alice's budget is $2500 now",
    "Alice moved to Berlin in April 2024",
    "Alice eats fish now",
    "Alice's sister Emma is joining Alice for the weekend",
)


def demo_conversation() -> DemoConversation:
    """Alice plans a trip: a name, a plan, a budget that changes, a diet she drops, a move, a sister, and a
    preference she asks to forget. ``expected_memories`` is the scope after consolidation, whether the
    turns are consolidated at once or the session is generated again after more turns."""
    r = random.Random(DEFAULT_SEED)
    turns = []
    for n, (role, text) in enumerate(DEMO_SCRIPT):
        at = DEMO_START + timedelta(minutes=n)
        author = "alice" if role == "user" else "assistant"
        turns.append(Turn(author=author, text=text, timestamp=at, role=role, event_id=_event_id(r, at)))
    return DemoConversation("alice", tuple(turns), DEMO_CANDIDATES, DEMO_MEMORIES)
