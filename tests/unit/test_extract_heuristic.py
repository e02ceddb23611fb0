"""HeuristicExtractor: one test per documented rule (docs/extraction.md), provenance, topics, settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contextiq.ai.extractors.base import MANAGED_TOPICS, CandidateFact, FewShotExample, Topic, Turn
from contextiq.ai.extractors.heuristic import HeuristicExtractor, is_user_turn, split_clauses
from contextiq.ai.extractors.speaker import third_person

T0 = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)  # a Wednesday
MANAGED = [Topic(label, description, managed=True) for label, description in MANAGED_TOPICS.items()]
PI, PREF, KEY, INSTR = MANAGED_TOPICS


def user(text: str, n: int = 1, author: str = "alice", role: str | None = "user") -> Turn:
    return Turn(author, text, T0 + timedelta(minutes=n), role, f"e{n}")


def agent(text: str, n: int = 2) -> Turn:
    return Turn("assistant", text, T0 + timedelta(minutes=n), "assistant", f"e{n}")


def extract(*texts: str, topics: list[Topic] | None = None) -> list[tuple[str, str]]:
    turns = [user(t, n) for n, t in enumerate(texts, start=1)]
    return [(f.fact, f.topic) for f in HeuristicExtractor().extract(turns, topics or MANAGED).facts]


@pytest.mark.parametrize(
    ("said", "fact", "topic"),
    [
        # identity
        ("My name is Alice.", "The user's name is Alice", PI),
        ("I'm 34.", "The user is 34", PI),
        ("I am 34 years old", "The user is 34 years old", PI),
        ("I live in Paris.", "The user lives in Paris", PI),
        ("I'm from Lyon originally", "The user is from Lyon originally", PI),
        ("I moved to Berlin last month.", "The user moved to Berlin in April 2024", PI),
        ("I work as a nurse.", "The user works as a nurse", PI),
        ("I work at Acme.", "The user works at Acme", PI),
        ("I'm a software engineer at Globex.", "The user is a software engineer at Globex", PI),
        ("I speak French and Spanish.", "The user speaks French and Spanish", PI),
        # preferences
        ("I love hiking and swimming!", "The user loves hiking and swimming", PREF),
        ("I prefer aisle seats.", "The user prefers aisle seats", PREF),
        ("I really enjoy jazz", "The user really enjoys jazz", PREF),
        ("I hate crowded beaches.", "The user hates crowded beaches", PREF),
        ("I don't like horror movies.", "The user doesn't like horror movies", PREF),
        ("I can't stand cilantro.", "The user can't stand cilantro", PREF),
        ("I'm vegetarian.", "The user is vegetarian", PREF),
        ("I'm vegan", "The user is vegan", PREF),
        ("I'm allergic to peanuts.", "The user is allergic to peanuts", PREF),
        ("I always drink green tea in the morning.", "The user always drinks green tea in the morning", PREF),
        ("I never eat after 8pm.", "The user never eats after 8pm", PREF),
        ("I'd rather fly in the morning.", "The user would rather fly in the morning", PREF),
        ("My favorite cuisine is Thai.", "The user's favorite cuisine is Thai", PREF),
        ("I play tennis every Sunday.", "The user plays tennis every Sunday", PREF),
        # plans (dates resolved against the turn: Wednesday 2024-05-08)
        ("I'm flying to Rome next Friday.", "The user is flying to Rome on 2024-05-17", KEY),
        ("I'm going to Lisbon on Monday.", "The user is going to Lisbon on 2024-05-13", KEY),
        ("I'm planning to visit Japan in 3 days", "The user is planning to visit Japan on 2024-05-11", KEY),
        ("My flight is on May 20th.", "The user's flight is on 2024-05-20", KEY),
        ("I want to learn Spanish this year.", "The user wants to learn Spanish in 2024", KEY),
        ("I have a dentist appointment tomorrow.", "The user has a dentist appointment on 2024-05-09", KEY),
        ("I booked the Hotel Lux for June.", "The user booked the Hotel Lux for June", KEY),
        # relationships
        ("My wife Maria is a doctor.", "The user's wife Maria is a doctor", PI),
        ("My dog is called Rex.", "The user's dog is called Rex", PI),
        ("My dog's name is Rex.", "The user's dog is called Rex", PI),
        ("My boss Tom is very strict.", "The user's boss Tom is very strict", PI),
        ("I have two kids.", "The user has two kids", PI),
        ("I have a cat named Tom", "The user has a cat named Tom", PI),
        ("I'm married.", "The user is married", PI),
        # explicit instructions
        ("Remember that my passport expires in March 2027.", "The user's passport expires in March 2027", INSTR),
        ("Please remember I'm allergic to bees", "The user is allergic to bees", INSTR),
        (
            "Please always give me prices in euros.",
            "The user asks the assistant to always give the user prices in euros",
            INSTR,
        ),
        ("Always answer in French", "The user asks the assistant to always answer in French", INSTR),
        (
            "Don't ever book me on red-eye flights.",
            "The user asks the assistant to never book the user on red-eye flights",
            INSTR,
        ),
        ("Never call me before 9am.", "The user asks the assistant to never call the user before 9am", INSTR),
        ("I want you to always reply briefly", "The user asks the assistant to always reply briefly", INSTR),
        ("Call me Ali.", "The user wants to be called Ali", INSTR),
        (
            "Remind me to renew my passport next month.",
            "The user wants to be reminded to renew the user's passport in June 2024",
            INSTR,
        ),
        ("Don't forget to book the hotel", "The user wants to be reminded to book the hotel", INSTR),
        # retractions (the normalised forms the decider recognises)
        ("Forget that I like jazz.", "The user asked to forget that the user likes jazz", INSTR),
        ("Please forget my old address", "The user asked to forget the user's old address", INSTR),
        ("I'm not vegetarian anymore.", "The user is no longer vegetarian", PREF),
        ("I'm no longer vegetarian", "The user is no longer vegetarian", PREF),
        ("I no longer eat meat.", "The user no longer eats meat", PREF),
        ("I don't live in Paris anymore.", "The user no longer lives in Paris", PI),
        ("I don't drink coffee any more", "The user no longer drinks coffee", PREF),
        ("My budget isn't $2000 anymore", "The user's budget is no longer $2000", KEY),
        # key details
        ("My budget is $2000.", "The user's budget is $2000", KEY),
        ("The meeting is on Friday.", "The user's meeting is on 2024-05-10", KEY),
        ("The deadline with Acme is next Monday", "The user's deadline with Acme is on 2024-05-13", KEY),
        ("I went to the dentist yesterday.", "The user went to the dentist on 2024-05-07", KEY),
        ("I spent $300 on shoes", "The user spent $300 on shoes", KEY),
        ("My hotel booking number is 48213", "The user's hotel booking number is 48213", KEY),
    ],
)
def test_rules(said: str, fact: str, topic: str) -> None:
    assert extract(said) == [(fact, topic)]


@pytest.mark.parametrize(
    "said",
    [
        "Can you recommend a good restaurant?",
        "What's the weather like tomorrow?",
        "Thanks, that's all!",
        "Hi there.",
        "Forget it.",
        "I think so.",
        "Ok",
        "We should go.",
        "That sounds great, I'm in",
        "Please find me a hotel in Alfama.",
        "Don't worry about it.",
    ],
)
def test_nothing_to_remember(said: str) -> None:
    assert extract(said) == []


def test_the_stated_name_names_every_fact_even_earlier_ones() -> None:
    facts = extract("I'm vegetarian and I love jazz.", "By the way, my name is Alice.", "My wife is a doctor.")
    assert facts == [
        ("Alice is vegetarian", PREF),
        ("Alice loves jazz", PREF),
        ("The user's name is Alice", PI),
        ("Alice's wife is a doctor", PI),
    ]


@pytest.mark.parametrize("greeting", ["Hi, I'm Bob.", "Hello! I'm Bob,", "Hey, this is Bob.", "Hi, my name's Bob."])
def test_greeting_introductions(greeting: str) -> None:
    assert extract(f"{greeting} I live in Leeds.") == [("The user's name is Bob", PI), ("Bob lives in Leeds", PI)]


def test_an_adjective_after_a_greeting_is_not_a_name() -> None:
    assert extract("Hi, I'm vegetarian.") == [("The user is vegetarian", PREF)]


def test_only_user_turns_are_read() -> None:
    turns = [
        user("I live in Paris.", 1),
        agent("You live in Paris and you're vegetarian, right?", 2),
        Turn("assistant", "I love Lisbon!", T0, None, "e3"),  # no role: the author says it is the agent
        Turn("search", "I work at Acme", T0, "tool", "e4"),
        Turn("system", "I am a system prompt", T0, None, "e5"),
        Turn("alice-42", "I work as a pilot.", T0, None, "e6"),  # no role, a user author
    ]
    facts = HeuristicExtractor().extract(turns, MANAGED).facts
    assert facts == [
        CandidateFact("The user lives in Paris", PI, ("e1",)),
        CandidateFact("The user works as a pilot", PI, ("e6",)),
    ]


@pytest.mark.parametrize(
    ("role", "author", "expected"),
    [
        ("user", "assistant", True),
        ("human", "x", True),
        ("model", "alice", False),
        ("assistant", "alice", False),
        (None, "alice", True),
        (None, "Model", False),
        (None, "agent", False),
        (None, "tool", False),
    ],
)
def test_user_turn_detection(role: str | None, author: str, expected: bool) -> None:
    assert is_user_turn(Turn(author, "hi", T0, role)) is expected


def test_provenance_merges_duplicates_across_turns() -> None:
    turns = [user("I'm vegetarian.", 1), agent("Noted.", 2), user("As I said: I'm vegetarian!", 3)]
    facts = HeuristicExtractor().extract(turns, MANAGED).facts
    assert facts == [CandidateFact("The user is vegetarian", PREF, ("e1", "e3"))]


def test_later_values_replace_earlier_ones_within_one_conversation() -> None:
    facts = extract("I live in Paris.", "My budget is $2000.", "Actually my budget is $2,500.", "I moved to Berlin.")
    assert facts == [("The user's budget is $2,500", KEY), ("The user moved to Berlin", PI)]


def test_a_retraction_cancels_an_earlier_statement_and_is_kept() -> None:
    facts = extract("I'm vegetarian and I love jazz.", "I'm not vegetarian anymore.")
    assert facts == [("The user loves jazz", PREF), ("The user is no longer vegetarian", PREF)]


def test_only_requested_topics() -> None:
    topics = [Topic(PREF, MANAGED_TOPICS[PREF], managed=True)]
    facts = extract("My name is Alice. I live in Paris. I love jazz. My budget is $900.", topics=topics)
    # the budget rule prefers KEY_CONVERSATION_DETAILS and falls back to USER_PREFERENCES
    assert facts == [("Alice loves jazz", PREF), ("Alice's budget is $900", PREF)]


def test_no_topics_means_all_managed_topics() -> None:
    assert extract("I live in Paris.", topics=[]) == [("The user lives in Paris", PI)]


def test_custom_topic_matches_description_keywords() -> None:
    wine = Topic("wine_preferences", "Wines, grapes and wine regions the user likes or avoids.")
    facts = extract("I love a good Rioja wine.", "I live in Paris.", "I'm tired of red grapes honestly", topics=[wine])
    assert facts == [
        ("The user loves a good Rioja wine", "wine_preferences"),
        ("The user is tired of red grapes honestly", "wine_preferences"),
    ]


def test_custom_topic_learns_keywords_from_few_shot_facts() -> None:
    fitness = Topic("fitness", "The user's training routine.")
    example = FewShotExample(
        conversation=(Turn("bob", "I lift weights and swim laps.", T0, "user"),),
        facts=("Bob lifts weights", "Bob swims laps"),
    )
    turns = [user("I swim every morning before work.", 1), user("My sister lives in Rome.", 2)]
    facts = HeuristicExtractor().extract(turns, [fitness, *MANAGED], [example]).facts
    assert [(f.fact, f.topic) for f in facts] == [
        ("The user swims every morning before work", "fitness"),
        ("The user's sister lives in Rome", PI),
    ]


def test_custom_topics_take_precedence_over_managed_ones() -> None:
    travel = Topic("travel", "Trips, flights, hotels and destinations.")
    facts = extract("I'm booking a hotel in Rome for next Friday.", "I live in Paris.", topics=[travel, *MANAGED])
    assert facts == [("The user is booking a hotel in Rome for 2024-05-17", "travel"), ("The user lives in Paris", PI)]


def test_clause_splitting() -> None:
    assert split_clauses("I'm 34 and I work as a nurse, but my wife and I live in Leeds.") == [
        "I'm 34",
        "I work as a nurse",
        "my wife and I live in Leeds",
    ]
    assert split_clauses("I'm going to Rome next week, any tips?") == ["I'm going to Rome next week"]
    assert split_clauses("Can you help me?") == []


@pytest.mark.parametrize(
    ("first_person", "third"),
    [
        ("I'm vegetarian", "Alice is vegetarian"),
        ("I always drink tea", "Alice always drinks tea"),
        ("I don't eat meat", "Alice doesn't eat meat"),
        ("I have two kids", "Alice has two kids"),
        ("I watch movies", "Alice watches movies"),
        ("I try to run daily", "Alice tries to run daily"),
        ("I went to Rome", "Alice went to Rome"),
        ("I'd like a window seat", "Alice would like a window seat"),
        ("I've booked a hotel", "Alice has booked a hotel"),
        ("My wife and I are going to Rome", "Alice's wife and Alice are going to Rome"),
        ("Please remind me to call my mom", "Please remind Alice to call Alice's mom"),
        ("i'm vegan", "Alice is vegan"),
    ],
)
def test_third_person(first_person: str, third: str) -> None:
    assert third_person(first_person, "Alice") == third


def test_deterministic() -> None:
    turns = [user("I'm vegetarian. My budget is $2000 and I'm flying to Rome next Friday.", 1)]
    first = HeuristicExtractor().extract(turns, MANAGED)
    assert all(HeuristicExtractor().extract(turns, MANAGED) == first for _ in range(3))
    assert first.usage.input_tokens == first.usage.output_tokens == 0
