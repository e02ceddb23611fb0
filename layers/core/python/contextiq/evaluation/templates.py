"""Fact templates as data: vocabularies, how a template draws its values, and the table of templates.

A :class:`Template` says what a user says (easy phrasings, optionally one harder phrasing), the canonical
fact it should become (docs/extraction.md form: third person, the user's name or "The user", ISO dates
resolved against the turn), questions about it phrased without its words, and the assistant's reply.
:func:`render` draws the values with a seeded :class:`random.Random` and fills the strings; the random
calls happen in the order the template lists them, so a seed always gives the same conversation.

Placeholders: ``{subject}`` (Alice / The user), ``{poss}`` (Alice's / The user's), ``{ref}`` (Alice / the
user), ``{day}`` (the template's resolved date), every drawn value by name, and ``{name!c}`` for a value
capitalised.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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
LIKE_VERBS = (("love", "loves"), ("enjoy", "enjoys"), ("really like", "really likes"))
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
BUDGETS = (800, 1200, 1500, 2000, 3500)
MONTHS = ("March", "June", "October")
YEARS = (2026, 2027)
SEATS = ("window", "aisle")
KID_COUNTS = ("two", "three")
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

# -- drawing values ---------------------------------------------------------------------------------

Draw = Callable[[random.Random], Any]


def pick(vocabulary: Sequence[Any]) -> Draw:
    return lambda r: r.choice(vocabulary)


def number(low: int, high: int) -> Draw:
    return lambda r: r.randint(low, high)


def several(vocabulary: Sequence[Any], k: int) -> Draw:
    return lambda r: r.sample(list(vocabulary), k)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_weekday(day: date, weekday: int) -> date:
    """The first ``weekday`` (0 = Monday) strictly after ``day``."""
    return day + timedelta(days=(weekday - day.weekday() - 1) % 7 + 1)


#: How a relative date said in a turn resolves against the turn's day (docs/extraction.md, "Dates").
DATE_RULES: dict[str, Callable[[date], date]] = {
    "next Friday": lambda d: week_start(d) + timedelta(days=7 + 4),  # Friday of the following week
    "on Thursday": lambda d: next_weekday(d, 3),
    "on Monday": lambda d: next_weekday(d, 0),
    "yesterday": lambda d: d - timedelta(days=1),
    "in 3 days": lambda d: d + timedelta(days=3),
}

Phrasing = str | tuple[str, str]  # what the user says, or (what the user says, the fact it gives)

#: Probability that a fact is said in a harder, less formulaic way (the heuristic extractor misses some).
HARD_PHRASING = 0.25


@dataclass(frozen=True)
class Template:
    """One kind of fact. ``says`` are drawn with ``r.choice`` when there are several; ``hard``, when
    given, is said with probability :data:`HARD_PHRASING` instead. ``questions`` is a tuple of strings or
    the name of a drawn value holding them."""

    kind: str
    draws: tuple[tuple[str, Draw], ...]  # ("pet pet_name", pick(PETS)): a tuple value unpacks into names
    says: tuple[Phrasing, ...]
    fact: str
    questions: tuple[str, ...] | str
    reply: str
    hard: Phrasing | None = None
    date: str | None = None  # a key of DATE_RULES: fills {day}
    #: questions as a user would ask them, sharing words with what was said ("What is Liam allergic to?")
    direct: tuple[str, ...] = ()


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
    """One rendered fact: what the user says, the expected fact, questions about it, the assistant's reply."""

    kind: str
    user: str
    fact: str
    questions: tuple[str, ...]
    reply: str
    direct: tuple[str, ...] = ()


class _Formatter(string.Formatter):
    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "c":
            return str(value).capitalize()
        return super().convert_field(value, conversion)


_FORMAT = _Formatter()


def fill(text: str, values: Mapping[str, Any]) -> str:
    return _FORMAT.vformat(text, (), values)


def draw_values(r: random.Random, draws: Sequence[tuple[str, Draw]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for names, draw in draws:
        value = draw(r)
        keys = names.split()
        if len(keys) == 1:
            values[keys[0]] = value
        else:
            values.update(zip(keys, value, strict=True))
    return values


def choose_phrasing(r: random.Random, says: Sequence[Phrasing], hard: Phrasing | None) -> Phrasing:
    if hard is not None:
        return hard if r.random() < HARD_PHRASING else r.choice(list(says))
    return says[0] if len(says) == 1 else r.choice(list(says))


def render(template: Template, r: random.Random, who: Who, at: datetime) -> Spec:
    values: dict[str, Any] = {"subject": who.subject, "poss": who.poss, "ref": who.ref}
    values.update(draw_values(r, template.draws))
    if template.date:
        values["day"] = DATE_RULES[template.date](at.date()).isoformat()
    phrasing = choose_phrasing(r, template.says, template.hard)
    says, fact = phrasing if isinstance(phrasing, tuple) else (phrasing, template.fact)
    questions = values[template.questions] if isinstance(template.questions, str) else template.questions
    return Spec(
        template.kind,
        fill(says, values),
        fill(fact, values),
        tuple(fill(q, values) for q in questions),
        fill(template.reply, values),
        tuple(fill(q, values) for q in template.direct),
    )


# -- the templates ----------------------------------------------------------------------------------

T = Template
TEMPLATES: tuple[Template, ...] = (
    T("age", (("age", number(22, 67)),),
      (("I'm {age} years old.", "{subject} is {age} years old"), ("I'm {age}.", "{subject} is {age}")),
      "", ("What age is {ref}?", "When was {ref} born, roughly?"), "Thanks.",
      direct=("How old is {ref}?",)),
    T("residence", (("city", pick(CITIES)),),
      ("I live in {city}.", "By the way, I live in {city}.",
       ("I currently live in {city}.", "{subject} currently lives in {city}")),
      "{subject} lives in {city}", ("Which city is {ref} based in?", "Where is {ref}'s home?"),
      "{city} is a great place to be based.", hard="I've been living in {city} for five years now.",
      direct=("Where does {ref} live?",)),
    T("job", (("job", pick(JOBS)),), ("I work as {job}.", "I'm {job}."), "{subject} works as {job}",
      JOB_QUESTIONS, "That sounds like demanding work.", hard="I've been working as {job} since 2015.",
      direct=("What does {ref} work as?",)),
    T("employer", (("company", pick(COMPANIES)),), ("I work at {company}.",), "{subject} works at {company}",
      ("Which company employs {ref}?",), "Noted, you're at {company}.",
      direct=("Where does {ref} work?",)),
    T("diet", (("diet questions", pick(DIETS)),), ("I'm {diet}.", "Just so you know, I'm {diet}."),
      "{subject} is {diet}", "questions", "Understood, I'll only suggest {diet} options.",
      direct=("Does {ref} follow a {diet} diet?",)),
    T("allergy", (("allergen questions", pick(ALLERGENS)),), ("I'm allergic to {allergen}.",),
      "{subject} is allergic to {allergen}", "questions", "Thanks for telling me about the {allergen} allergy.",
      hard="{allergen!c} give me a bad allergic reaction.",
      direct=("What is {ref} allergic to?",)),
    T("hobby", (("hobby", pick(HOBBIES)), ("verb verbs", pick(LIKE_VERBS))), ("I {verb} {hobby}.",),
      "{subject} {verbs} {hobby}", ("What does {ref} do for fun?", "Which pastime makes {ref} happy?"),
      "That's a great pastime!", hard="On weekends you'll usually find me {hobby}, I {verb} it.",
      direct=("What does {ref} {verb}?",)),
    T("dislike", (("thing", pick(DISLIKES)),), ("Honestly, I can't stand {thing}.",),
      "{subject} can't stand {thing}", ("What does {ref} find unbearable?", "What would annoy {ref}?"),
      "I'll keep that in mind.",
      direct=("What can't {ref} stand?",)),
    T("pet", (("pet pet_name", pick(PETS)),), ("My {pet} is called {pet_name}.", "My {pet}'s name is {pet_name}."),
      "{poss} {pet} is called {pet_name}", ("What is the name of {ref}'s animal?", "Who is {pet_name}?"),
      "{pet_name} is a lovely name!", hard="We have a {pet} named {pet_name}.",
      direct=("What is {ref}'s {pet} called?", "What is the name of {ref}'s {pet}?")),
    T("partner", (("rel alias", pick(PARTNERS)), ("name", pick(PARTNER_NAMES)), ("job", pick(PARTNER_JOBS))),
      ("My {rel} {name} is {job}.",), "{poss} {rel} {name} is {job}",
      ("What does {ref}'s {alias} do for work?", "Who is {name}?"), "Nice, say hi to {name}.",
      direct=("What does {ref}'s {rel} {name} do?",)),
    T("sibling", (("rel name", pick(SIBLINGS)), ("city", pick(CITIES))), ("My {rel} {name} lives in {city}.",),
      "{poss} {rel} {name} lives in {city}", ("In which city does {ref}'s sibling reside?",),
      "Do you visit {name} often?",
      direct=("Where does {ref}'s {rel} {name} live?",)),
    T("trip", (("city", pick(DESTINATIONS)),), ("I'm flying to {city} next Friday.",),
      "{subject} is flying to {city} on {day}", ("When does {ref} leave for {city}?",
      "Where is {ref} travelling by plane?"), "Exciting! {city} is beautiful.", date="next Friday",
      direct=("When is {ref} flying to {city}?",)),
    T("budget", (("amount", pick(BUDGETS)),), ("My budget is ${amount}.",), "{poss} budget is ${amount}",
      ("How much money can {ref} spend?", "What is the spending limit for {ref}?"), "I'll stay within that.",
      hard="I can spend up to ${amount} on this, no more.",
      direct=("What is {ref}'s budget?",)),
    T("meeting", (("client", pick(CLIENTS)),), ("The meeting with {client} is on Thursday.",),
      "{poss} meeting with {client} is on {day}", ("When will {ref} sit down with {client}?",),
      "I'll help you prepare.", date="on Thursday",
      direct=("When is {ref}'s meeting with {client}?",)),
    T("language", (("lang", pick(LANGUAGES)),), ("Please always answer in {lang}.",),
      "{subject} asks the assistant to always answer in {lang}", ("Which language should replies to {ref} use?",),
      "Of course.",
      direct=("Which language should the assistant always answer {ref} in?",)),
    T("passport", (("month", pick(MONTHS)), ("year", pick(YEARS))),
      ("Remember that my passport expires in {month} {year}.",), "{poss} passport expires in {month} {year}",
      ("When does {ref}'s travel document run out?",), "I'll remember that.",
      direct=("When does {ref}'s passport expire?",)),
    T("habit", (("drink", pick(DRINKS)),), ("I always drink {drink} in the morning.",),
      "{subject} always drinks {drink} in the morning", ("What beverage does {ref} start the day with?",),
      "A good way to start the day.",
      direct=("What does {ref} drink in the morning?",)),
    T("marathon", (), ("I ran a marathon yesterday!",), "{subject} ran a marathon on {day}",
      ("When did {ref} complete the long-distance race?",), "Congratulations, that's a huge achievement!",
      date="yesterday",
      direct=("When did {ref} run a marathon?",)),
    T("languages", (("langs", several(LANGUAGES, 2)),), ("I speak {langs[0]} and {langs[1]}.",),
      "{subject} speaks {langs[0]} and {langs[1]}", ("Which tongues is {ref} fluent in?",), "Impressive!",
      direct=("Which languages does {ref} speak?",)),
    T("cuisine", (("cuisine", pick(CUISINES)),), ("My favorite cuisine is {cuisine}.",),
      "{poss} favorite cuisine is {cuisine}", ("What kind of food does {ref} like most?",),
      "{cuisine} food is delicious.", hard="Nothing beats {cuisine} food for me.",
      direct=("What is {ref}'s favorite cuisine?",)),
    T("dentist", (), ("I have a dentist appointment on Monday.",), "{subject} has a dentist appointment on {day}",
      ("When will {ref} get their teeth checked?",), "Good luck at the dentist.", date="on Monday",
      direct=("When is {ref}'s dentist appointment?",)),
    T("seat", (("seat", pick(SEATS)),), ("I prefer {seat} seats.",), "{subject} prefers {seat} seats",
      ("Where does {ref} like to sit on a plane?",), "I'll look for {seat} seats.",
      direct=("Which seats does {ref} prefer?",)),
    T("origin", (("country", pick(COUNTRIES)),), ("I'm originally from {country}.",),
      "{subject} is originally from {country}", ("Where did {ref} grow up?",),
      "What do you miss most about {country}?",
      direct=("Where is {ref} originally from?",)),
    T("kids", (("count", pick(KID_COUNTS)),), ("I have {count} kids.",), "{subject} has {count} kids",
      ("How many children does {ref} have?",), "A busy household!",
      hard="I'm a parent of {count} kids, so weekends are busy.",
      direct=("How many kids does {ref} have?",)),
    T("instrument", (("instrument", pick(INSTRUMENTS)),), ("I play the {instrument}.",),
      "{subject} plays the {instrument}", ("Which musical instrument does {ref} know?",), "Music is wonderful.",
      direct=("Which instrument does {ref} play?",)),
    T("car", (("car", pick(CARS)),), ("I drive a {car}.",), "{subject} drives a {car}",
      ("What vehicle does {ref} own?",), "{car}s are reliable.",
      direct=("What car does {ref} drive?",)),
    T("exam", (("exam", pick(EXAMS)),), ("My {exam} is in 3 days.",), "{poss} {exam} is on {day}",
      ("When is {ref}'s upcoming test?",), "You'll do great.", date="in 3 days",
      direct=("When is {ref}'s {exam}?",)),
    T("never", (), ("Never book me on red-eye flights.",),
      "{subject} asks the assistant to never book {ref} on red-eye flights",
      ("Which overnight travel options should be avoided for {ref}?",), "Understood, no overnight flights.",
      direct=("Which flights should never be booked for {ref}?",)),
)  # fmt: skip
