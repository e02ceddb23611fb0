"""HeuristicDecider rules, and the demo conversation consolidated into a small in-memory scope."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import pytest

from contextiq.ai.extractors.base import Action, CandidateFact, Decision, ExistingMemory
from contextiq.ai.extractors.facts import Relation, attribute, parse_retraction, relate, tokens
from contextiq.ai.extractors.heuristic import HeuristicDecider, HeuristicExtractor
from contextiq.ai.extractors.prompts import managed_topics
from contextiq.evaluation.dataset import demo_conversation

decider = HeuristicDecider()


def decide(candidate: str, *memories: tuple[str, float]) -> Decision:
    similar = [ExistingMemory(f"m{i}", fact, ("T",), score) for i, (fact, score) in enumerate(memories, start=1)]
    return decider.decide(CandidateFact(candidate, "T"), similar)


# --- rule 1: retractions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "memory"),
    [
        ("Alice is no longer vegetarian", "Alice is vegetarian"),
        ("Alice is no longer vegetarian", "Alice is a strict vegetarian"),
        ("Alice is no longer vegetarian", "Alice is vegan"),  # the diet attribute as a whole
        ("Alice no longer eats meat", "Alice eats meat every day"),
        ("Alice no longer lives in Paris", "Alice lives in Paris"),
        ("The user no longer drinks coffee", "Alice drinks coffee"),  # "the user" is the scope's user
        ("Alice's budget is no longer $2000", "Alice's budget is $2000"),
        ("Alice asked to forget that Alice likes jazz", "Alice likes jazz"),
        ("Alice asked to forget Alice's old address", "Alice's old address is 12 Rue Cler"),
        ("Alice is not vegetarian anymore", "Alice is vegetarian"),  # also understood from a model
    ],
)
def test_retraction_deletes_the_memory_it_names(candidate: str, memory: str) -> None:
    decision = decide(candidate, ("Alice speaks French", 0.5), (memory, 0.8))
    assert (decision.action, decision.memory_id, decision.fact) == (Action.DELETE, "m2", None)


@pytest.mark.parametrize(
    ("candidate", "memory"),
    [
        ("Alice no longer lives in Paris", "Alice lives in Rome"),
        ("Alice is no longer vegetarian", "Alice's sister is vegetarian"),
        ("Alice asked to forget that Alice likes jazz", "Alice likes rock climbing"),
    ],
)
def test_retraction_of_something_not_stored_changes_nothing(candidate: str, memory: str) -> None:
    decision = decide(candidate, (memory, 0.85))
    assert decision.action is Action.NOOP
    assert decision.memory_id is None
    assert decide(candidate).action is Action.NOOP  # and a retraction never adds


# --- rule 2: duplicates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "memory", "score"),
    [
        ("Alice is vegetarian", "Alice is vegetarian.", 0.99),  # normalised text equal
        ("alice is VEGETARIAN", "Alice is vegetarian", 0.2),  # whatever the score
        ("Alice loves hiking in the Alps", "Alice loves hiking in the alps!", 0.97),
        ("Alice is allergic to peanuts", "Alice is allergic to peanuts and shellfish", 0.9),  # already covered
        ("The user's budget is $2,000", "Alice's budget is $2000", 0.95),
        ("Alice avoids meat", "Alice is a vegetarian who avoids meat and fish", 0.8),
        ("Alice avoids eating meat", "Alice is vegetarian", 0.93),  # paraphrase by similarity
        ("Alice moved to Berlin", "Alice moved to Berlin in April 2024", 0.9),
    ],
)
def test_duplicates_are_noop(candidate: str, memory: str, score: float) -> None:
    decision = decide(candidate, (memory, score))
    assert (decision.action, decision.memory_id, decision.fact) == (Action.NOOP, "m1", None)


def test_a_high_score_is_not_a_duplicate_when_a_value_is_new() -> None:
    assert (
        decide("Alice is flying to Lisbon on 2024-05-24", ("Alice is flying to Lisbon on 2024-05-17", 0.98)).action
        is Action.UPDATE
    )
    assert decide("Alice's sister Emma lives in Rome", ("Alice's sister lives in Rome", 0.95)).action is Action.ADD


# --- rule 3: same attribute, new value -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "memory"),
    [
        ("Alice lives in Berlin", "Alice lives in Paris"),
        ("Alice moved to Berlin in April 2024", "Alice lives in Paris"),
        ("The user lives in Berlin", "Alice lives in Paris"),
        ("Alice's budget is $3000", "Alice's budget is $2000"),
        ("Alice is 35", "Alice is 34"),
        ("Alice is 35 years old", "Alice is 34"),
        ("Alice works at Globex", "Alice works at Acme"),
        ("Alice works as a senior nurse", "Alice works as a nurse"),
        ("Alice is vegan", "Alice is vegetarian"),
        ("Alice is married", "Alice is engaged"),
        ("Alice's dog is called Max", "Alice's dog is called Rex"),
        ("Alice is flying to Rome on 2024-05-24", "Alice is flying to Rome on 2024-05-17"),
        ("Alice doesn't like sushi", "Alice likes sushi"),  # a contradiction replaces
        ("Alice is vegetarian", "Alice is no longer vegetarian"),  # true again
    ],
)
def test_changed_value_updates(candidate: str, memory: str) -> None:
    decision = decide(candidate, ("Alice loves jazz", 0.4), (memory, 0.7))
    assert (decision.action, decision.memory_id, decision.fact) == (Action.UPDATE, "m2", candidate)
    assert decision.reason


# --- rule 4: everything else is new --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "memory"),
    [
        ("Alice likes sushi", "Alice likes pizza"),  # liking is not single-valued
        ("Alice's sister Emma lives in Lisbon", "Alice lives in Paris"),  # another subject
        ("Alice's wife is called Maria", "Alice's wife is a doctor"),  # another attribute of the wife
        ("Alice's flight is at 9am", "Alice's flight is on 2024-05-17"),
        ("Alice speaks French", "Alice lives in Paris"),
    ],
)
def test_new_information_is_added(candidate: str, memory: str) -> None:
    decision = decide(candidate, (memory, 0.8))
    assert (decision.action, decision.memory_id, decision.fact) == (Action.ADD, None, candidate)


def test_nothing_similar_adds() -> None:
    assert decide("Alice speaks French") == Decision(Action.ADD, None, "Alice speaks French", "new information")


def test_a_duplicate_wins_over_an_update_and_order_is_by_score_then_id() -> None:
    decision = decide("Alice lives in Berlin", ("Alice lives in Paris", 0.9), ("Alice lives in Berlin", 0.8))
    assert (decision.action, decision.memory_id) == (Action.NOOP, "m2")
    tie = [ExistingMemory("b", "Alice lives in Paris", (), 0.8), ExistingMemory("a", "Alice lives in Rome", (), 0.8)]
    assert decider.decide(CandidateFact("Alice lives in Berlin", "T"), tie).memory_id == "a"


def test_helpers() -> None:
    assert parse_retraction("Alice is vegetarian") is None
    retraction = parse_retraction("Alice asked to forget that Alice's budget is $2000")
    assert retraction is not None
    assert retraction.positive == "Alice's budget is $2000"
    assert attribute("Alice moved to Berlin in April 2024") is not None
    assert relate("Alice lives in Rome", "Alice lives in Rome")[0] is Relation.DUPLICATE


# --- the demo, consolidated ----------------------------------------------------------------------------


def cosine(a: str, b: str) -> float:
    ca, cb = Counter(tokens(a)), Counter(tokens(b))
    dot = sum(ca[t] * cb[t] for t in ca)
    norm = math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values()))
    return dot / norm if norm else 0.0


class Scope:
    """A memory scope with a bag-of-words similarity search: just enough to run consolidation."""

    def __init__(self) -> None:
        self.memories: dict[str, str] = {}
        self.actions: list[Action] = []
        self.added = 0

    def similar(self, fact: str, k: int = 5) -> list[ExistingMemory]:
        scored = sorted(((cosine(fact, text), mid) for mid, text in self.memories.items()), reverse=True)
        return [ExistingMemory(mid, self.memories[mid], (), score) for score, mid in scored[:k] if score > 0]

    def consolidate(self, candidates: Sequence[CandidateFact]) -> None:
        for candidate in candidates:
            decision = decider.decide(candidate, self.similar(candidate.fact))
            self.actions.append(decision.action)
            if decision.action is Action.ADD:
                self.added += 1
                self.memories[f"mem{self.added:03d}"] = decision.fact or candidate.fact
            elif decision.action is Action.UPDATE:
                assert decision.memory_id and decision.fact
                self.memories[decision.memory_id] = decision.fact
            elif decision.action is Action.DELETE:
                assert decision.memory_id
                del self.memories[decision.memory_id]


def test_demo_conversation_gives_exactly_the_expected_candidates() -> None:
    demo = demo_conversation()
    facts = HeuristicExtractor().extract(demo.turns, managed_topics()).facts
    assert [f.fact for f in facts] == list(demo.expected_candidates)
    assert all(f.source_event_ids for f in facts)


def test_demo_consolidated_at_once() -> None:
    demo = demo_conversation()
    scope = Scope()
    scope.consolidate(HeuristicExtractor().extract(demo.turns, managed_topics()).facts)
    assert sorted(scope.memories.values()) == sorted(demo.expected_memories)


def test_demo_generated_again_after_more_turns_converges_to_the_same_memories() -> None:
    demo = demo_conversation()
    scope = Scope()
    extractor = HeuristicExtractor()
    scope.consolidate(extractor.extract(demo.turns[:12], managed_topics()).facts)
    assert "Alice lives in Paris" in scope.memories.values()
    assert "Alice is vegetarian" in scope.memories.values()
    scope.actions.clear()
    scope.consolidate(extractor.extract(demo.turns, managed_topics()).facts)
    assert sorted(scope.memories.values()) == sorted(demo.expected_memories)
    assert Counter(scope.actions) == Counter({Action.NOOP: 5, Action.UPDATE: 2, Action.DELETE: 2, Action.ADD: 2})
    # generating once more changes nothing
    scope.actions.clear()
    scope.consolidate(extractor.extract(demo.turns, managed_topics()).facts)
    assert set(scope.actions) == {Action.NOOP}
    assert sorted(scope.memories.values()) == sorted(demo.expected_memories)
