"""A recall evaluation set generated deterministically from templates, and the scripted demo conversation.

:func:`generate_eval_set` builds ~30 small conversations (3-10 turns, timestamps, ULID event ids) between
varied users and an assistant. Each comes with the facts a good extraction should produce and 1-3
questions, phrased without the fact's own words ("Bob is allergic to peanuts" <-> "Which nuts should Bob
avoid?"), each naming the fact(s) a search for it should retrieve. Expected facts are written in the
canonical form of docs/extraction.md: third person, the user's name (or "The user"), ISO dates resolved
against the timestamp of the turn that mentions them.

:func:`fact_matches` / :func:`match_facts` compare produced facts with expected ones (normalised text, or
the expected content words and every number, date and name present). :func:`demo_conversation` is the
scripted trip-planning conversation with the candidates and memories it must end up with.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ulid import ULID

from contextiq.ai.extractors.base import Turn
from contextiq.ai.extractors.facts import content_tokens, normalize, value_tokens


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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
# Templates
# ---------------------------------------------------------------------------------------------------

NAMES = _split(
    "Bob Carla Deepak Elena Farid Grace Hiro Ines Jonas Keiko Liam Maya Nadia Omar Priya Quentin Rosa Sven "
    "Tara Umar Vera Wei Xavier Yara Zoe Marco Lena Ana Kofi Ingrid"
)
CITIES = _split("Lyon Denver Osaka Porto Leeds Austin Krakow Seville Utrecht Montreal Gothenburg Valencia")
DESTINATIONS = _split("Rome Tokyo Lisbon Vienna Prague Dublin Athens Oslo Reykjavik Marrakech")
COUNTRIES = _split("Brazil Kenya Norway Vietnam Chile Ireland Morocco Poland Canada Greece")
JOBS = ("a nurse", "an architect", "a data analyst", "a high school teacher", "a pharmacist", "a chef", "a pilot")
JOB_QUESTIONS = ("What does {ref} do for a living?", "What is {ref}'s profession?")
COMPANIES = _split("Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay")
HOBBIES = ("hiking", "jazz", "painting", "chess", "rock climbing", "baking bread", "birdwatching")
DISLIKES = ("cilantro", "loud music", "cold weather", "horror movies", "crowded beaches")
PETS = (("dog", "Rex"), ("cat", "Miso"), ("dog", "Biscuit"), ("parrot", "Kiwi"), ("cat", "Luna"))
PARTNERS = (("wife", "spouse"), ("husband", "spouse"), ("partner", "significant other"))
PARTNER_NAMES = _split("Maria Tom Sofia Daniel Aisha Lucas Mei Pedro")
PARTNER_JOBS = ("a doctor", "a lawyer", "a software engineer", "an electrician", "a journalist")
SIBLINGS = (("brother", "Paul"), ("sister", "Julia"), ("brother", "Karim"), ("sister", "Hana"))
CLIENTS = _split("Acme Contoso Northwind Fabrikam Tailspin")
LANGUAGES = ("French", "Spanish", "German", "Portuguese", "Italian", "Japanese")
DRINKS = ("green tea", "black coffee", "matcha", "orange juice")
CUISINES = ("Thai", "Mexican", "Ethiopian", "Korean", "Lebanese", "Peruvian")
CARS = ("Tesla", "Volvo", "Subaru", "Fiat")
INSTRUMENTS = ("guitar", "piano", "violin", "drums", "cello")
EXAMS = ("driving test", "bar exam", "final exam", "chemistry exam")
ALLERGENS = (
    ("peanuts", ("Which nuts should {ref} avoid?", "What snack could send {ref} to hospital?")),
    ("shellfish", ("Can {ref} eat shrimp?", "Which seafood is dangerous for {ref}?")),
    ("penicillin", ("Which medicine must {ref} never be given?",)),
    ("cats", ("Which animal makes {ref} sneeze?",)),
)
DIETS = (
    ("vegetarian", ("Does {ref} eat meat?", "What should a restaurant know about {ref}'s eating habits?")),
    ("vegan", ("Would {ref} eat cheese?", "Which animal products does {ref} avoid?")),
    ("pescatarian", ("Is fish on {ref}'s menu?",)),
)


@dataclass(frozen=True)
class Who:
    name: str | None

    @property
    def subject(self) -> str:
        return self.name or "The user"

    @property
    def poss(self) -> str:
        return f"{self.subject}'s"

    @property
    def ref(self) -> str:
        return self.name or "the user"


@dataclass(frozen=True)
class Spec:
    """One fact: what the user says, the expected fact, questions about it, the assistant's reply."""

    kind: str
    user: str
    fact: str
    questions: tuple[str, ...]
    reply: str


#: Probability that a fact is said in a harder, less formulaic way (the heuristic extractor misses some).
HARD_PHRASING = 0.25


def _phrase(r: random.Random, easy: Sequence[str], hard: str) -> str:
    return hard if r.random() < HARD_PHRASING else r.choice(list(easy))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday() - 1) % 7 + 1)


Kind = Callable[[random.Random, Who, datetime], Spec]


def _age(r: random.Random, w: Who, at: datetime) -> Spec:
    age = r.randint(22, 67)
    says, fact = r.choice(
        [(f"I'm {age} years old.", f"{w.subject} is {age} years old"), (f"I'm {age}.", f"{w.subject} is {age}")]
    )
    return Spec("age", says, fact, (f"What age is {w.ref}?", f"When was {w.ref} born, roughly?"), "Thanks.")


def _residence(r: random.Random, w: Who, at: datetime) -> Spec:
    city = r.choice(CITIES)
    says = _phrase(
        r,
        [f"I live in {city}.", f"By the way, I live in {city}.", f"I currently live in {city}."],
        f"I've been living in {city} for five years now.",
    )
    fact = f"{w.subject} currently lives in {city}" if "currently" in says else f"{w.subject} lives in {city}"
    return Spec(
        "residence",
        says,
        fact,
        (f"Which city is {w.ref} based in?", f"Where is {w.ref}'s home?"),
        f"{city} is a great place to be based.",
    )


def _job(r: random.Random, w: Who, at: datetime) -> Spec:
    job = r.choice(JOBS)
    return Spec(
        "job",
        _phrase(r, [f"I work as {job}.", f"I'm {job}."], f"I've been working as {job} since 2015."),
        f"{w.subject} works as {job}",
        tuple(q.format(ref=w.ref) for q in JOB_QUESTIONS),
        "That sounds like demanding work.",
    )


def _employer(r: random.Random, w: Who, at: datetime) -> Spec:
    company = r.choice(COMPANIES)
    return Spec(
        "employer",
        f"I work at {company}.",
        f"{w.subject} works at {company}",
        (f"Which company employs {w.ref}?",),
        f"Noted, you're at {company}.",
    )


def _diet(r: random.Random, w: Who, at: datetime) -> Spec:
    diet, questions = r.choice(DIETS)
    says = r.choice([f"I'm {diet}.", f"Just so you know, I'm {diet}."])
    return Spec(
        "diet",
        says,
        f"{w.subject} is {diet}",
        tuple(q.format(ref=w.ref) for q in questions),
        f"Understood, I'll only suggest {diet} options.",
    )


def _allergy(r: random.Random, w: Who, at: datetime) -> Spec:
    allergen, questions = r.choice(ALLERGENS)
    return Spec(
        "allergy",
        _phrase(r, [f"I'm allergic to {allergen}."], f"{allergen.capitalize()} give me a bad allergic reaction."),
        f"{w.subject} is allergic to {allergen}",
        tuple(q.format(ref=w.ref) for q in questions),
        f"Thanks for telling me about the {allergen} allergy.",
    )


def _hobby(r: random.Random, w: Who, at: datetime) -> Spec:
    hobby = r.choice(HOBBIES)
    verb = r.choice(["love", "enjoy", "really like"])
    third = {"love": "loves", "enjoy": "enjoys", "really like": "really likes"}[verb]
    return Spec(
        "hobby",
        _phrase(r, [f"I {verb} {hobby}."], f"On weekends you'll usually find me {hobby}, I {verb} it."),
        f"{w.subject} {third} {hobby}",
        (f"What does {w.ref} do for fun?", f"Which pastime makes {w.ref} happy?"),
        "That's a great pastime!",
    )


def _dislike(r: random.Random, w: Who, at: datetime) -> Spec:
    thing = r.choice(DISLIKES)
    return Spec(
        "dislike",
        f"Honestly, I can't stand {thing}.",
        f"{w.subject} can't stand {thing}",
        (f"What does {w.ref} find unbearable?", f"What would annoy {w.ref}?"),
        "I'll keep that in mind.",
    )


def _pet(r: random.Random, w: Who, at: datetime) -> Spec:
    pet, name = r.choice(PETS)
    return Spec(
        "pet",
        _phrase(r, [f"My {pet} is called {name}.", f"My {pet}'s name is {name}."], f"We have a {pet} named {name}."),
        f"{w.poss} {pet} is called {name}",
        (f"What is the name of {w.ref}'s animal?", f"Who is {name}?"),
        f"{name} is a lovely name!",
    )


def _partner(r: random.Random, w: Who, at: datetime) -> Spec:
    (rel, alias), name, job = r.choice(PARTNERS), r.choice(PARTNER_NAMES), r.choice(PARTNER_JOBS)
    return Spec(
        "partner",
        f"My {rel} {name} is {job}.",
        f"{w.poss} {rel} {name} is {job}",
        (f"What does {w.ref}'s {alias} do for work?", f"Who is {name}?"),
        f"Nice, say hi to {name}.",
    )


def _sibling(r: random.Random, w: Who, at: datetime) -> Spec:
    (rel, name), city = r.choice(SIBLINGS), r.choice(CITIES)
    return Spec(
        "sibling",
        f"My {rel} {name} lives in {city}.",
        f"{w.poss} {rel} {name} lives in {city}",
        (f"In which city does {w.ref}'s sibling reside?",),
        f"Do you visit {name} often?",
    )


def _trip(r: random.Random, w: Who, at: datetime) -> Spec:
    city = r.choice(DESTINATIONS)
    day = _week_start(at.date()) + timedelta(days=7 + 4)  # "next Friday": Friday of the following week
    return Spec(
        "trip",
        f"I'm flying to {city} next Friday.",
        f"{w.subject} is flying to {city} on {day.isoformat()}",
        (f"When does {w.ref} leave for {city}?", f"Where is {w.ref} travelling by plane?"),
        f"Exciting! {city} is beautiful.",
    )


def _budget(r: random.Random, w: Who, at: datetime) -> Spec:
    amount = r.choice([800, 1200, 1500, 2000, 3500])
    return Spec(
        "budget",
        _phrase(r, [f"My budget is ${amount}."], f"I can spend up to ${amount} on this, no more."),
        f"{w.poss} budget is ${amount}",
        (f"How much money can {w.ref} spend?", f"What is the spending limit for {w.ref}?"),
        "I'll stay within that.",
    )


def _meeting(r: random.Random, w: Who, at: datetime) -> Spec:
    client = r.choice(CLIENTS)
    day = _next_weekday(at.date(), 3)  # "on Thursday": the next Thursday after the turn
    return Spec(
        "meeting",
        f"The meeting with {client} is on Thursday.",
        f"{w.poss} meeting with {client} is on {day}",
        (f"When will {w.ref} sit down with {client}?",),
        "I'll help you prepare.",
    )


def _language(r: random.Random, w: Who, at: datetime) -> Spec:
    lang = r.choice(LANGUAGES)
    return Spec(
        "language",
        f"Please always answer in {lang}.",
        f"{w.subject} asks the assistant to always answer in {lang}",
        (f"Which language should replies to {w.ref} use?",),
        "Of course.",
    )


def _passport(r: random.Random, w: Who, at: datetime) -> Spec:
    month, year = r.choice(["March", "June", "October"]), r.choice([2026, 2027])
    return Spec(
        "passport",
        f"Remember that my passport expires in {month} {year}.",
        f"{w.poss} passport expires in {month} {year}",
        (f"When does {w.ref}'s travel document run out?",),
        "I'll remember that.",
    )


def _habit(r: random.Random, w: Who, at: datetime) -> Spec:
    drink = r.choice(DRINKS)
    return Spec(
        "habit",
        f"I always drink {drink} in the morning.",
        f"{w.subject} always drinks {drink} in the morning",
        (f"What beverage does {w.ref} start the day with?",),
        "A good way to start the day.",
    )


def _marathon(r: random.Random, w: Who, at: datetime) -> Spec:
    day = at.date() - timedelta(days=1)
    return Spec(
        "marathon",
        "I ran a marathon yesterday!",
        f"{w.subject} ran a marathon on {day.isoformat()}",
        (f"When did {w.ref} complete the long-distance race?",),
        "Congratulations, that's a huge achievement!",
    )


def _languages_spoken(r: random.Random, w: Who, at: datetime) -> Spec:
    first, second = r.sample(LANGUAGES, 2)
    return Spec(
        "languages",
        f"I speak {first} and {second}.",
        f"{w.subject} speaks {first} and {second}",
        (f"Which tongues is {w.ref} fluent in?",),
        "Impressive!",
    )


def _cuisine(r: random.Random, w: Who, at: datetime) -> Spec:
    cuisine = r.choice(CUISINES)
    return Spec(
        "cuisine",
        _phrase(r, [f"My favorite cuisine is {cuisine}."], f"Nothing beats {cuisine} food for me."),
        f"{w.poss} favorite cuisine is {cuisine}",
        (f"What kind of food does {w.ref} like most?",),
        f"{cuisine} food is delicious.",
    )


def _dentist(r: random.Random, w: Who, at: datetime) -> Spec:
    day = _next_weekday(at.date(), 0)  # "on Monday"
    return Spec(
        "dentist",
        "I have a dentist appointment on Monday.",
        f"{w.subject} has a dentist appointment on {day}",
        (f"When will {w.ref} get their teeth checked?",),
        "Good luck at the dentist.",
    )


def _seat(r: random.Random, w: Who, at: datetime) -> Spec:
    seat = r.choice(["window", "aisle"])
    return Spec(
        "seat",
        f"I prefer {seat} seats.",
        f"{w.subject} prefers {seat} seats",
        (f"Where does {w.ref} like to sit on a plane?",),
        f"I'll look for {seat} seats.",
    )


def _origin(r: random.Random, w: Who, at: datetime) -> Spec:
    country = r.choice(COUNTRIES)
    return Spec(
        "origin",
        f"I'm originally from {country}.",
        f"{w.subject} is originally from {country}",
        (f"Where did {w.ref} grow up?",),
        f"What do you miss most about {country}?",
    )


def _kids(r: random.Random, w: Who, at: datetime) -> Spec:
    count = r.choice(["two", "three"])
    return Spec(
        "kids",
        _phrase(r, [f"I have {count} kids."], f"I'm a parent of {count} kids, so weekends are busy."),
        f"{w.subject} has {count} kids",
        (f"How many children does {w.ref} have?",),
        "A busy household!",
    )


def _instrument(r: random.Random, w: Who, at: datetime) -> Spec:
    instrument = r.choice(INSTRUMENTS)
    return Spec(
        "instrument",
        f"I play the {instrument}.",
        f"{w.subject} plays the {instrument}",
        (f"Which musical instrument does {w.ref} know?",),
        "Music is wonderful.",
    )


def _car(r: random.Random, w: Who, at: datetime) -> Spec:
    car = r.choice(CARS)
    return Spec(
        "car",
        f"I drive a {car}.",
        f"{w.subject} drives a {car}",
        (f"What vehicle does {w.ref} own?",),
        f"{car}s are reliable.",
    )


def _exam(r: random.Random, w: Who, at: datetime) -> Spec:
    exam = r.choice(EXAMS)
    day = at.date() + timedelta(days=3)
    return Spec(
        "exam",
        f"My {exam} is in 3 days.",
        f"{w.poss} {exam} is on {day.isoformat()}",
        (f"When is {w.ref}'s upcoming test?",),
        "You'll do great.",
    )


def _never(r: random.Random, w: Who, at: datetime) -> Spec:
    return Spec(
        "never",
        "Never book me on red-eye flights.",
        f"{w.subject} asks the assistant to never book {w.subject if w.name else 'the user'} on red-eye flights",
        (f"Which overnight travel options should be avoided for {w.ref}?",),
        "Understood, no overnight flights.",
    )


KINDS: tuple[Kind, ...] = (
    _age, _residence, _job, _employer, _diet, _allergy, _hobby, _dislike, _pet, _partner, _sibling, _trip,
    _budget, _meeting, _language, _passport, _habit, _marathon, _languages_spoken, _cuisine, _dentist, _seat,
    _origin, _kids, _instrument, _car, _exam, _never,
)  # fmt: skip

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
        spec = kind(r, who, next_at)
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
