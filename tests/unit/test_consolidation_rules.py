"""Consolidation keeps facts apart (issue 10): numbers, dates and named entities make distinct memories
unless the attribute is single-valued; a later job's change of such an attribute updates the old memory;
the user's known name is used. Heuristic decider and extractor, and the Bedrock prompts (Stubber)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contextiq.ai.extractors.base import Action, CandidateFact, ExistingMemory, Turn
from contextiq.ai.extractors.bedrock import BedrockDecider, BedrockExtractor
from contextiq.ai.extractors.facts import Relation, relate
from contextiq.ai.extractors.heuristic import HeuristicDecider, HeuristicExtractor
from contextiq.ai.extractors.prompts import (
    DECISION_SYSTEM_PROMPT,
    SINGLE_VALUED_ATTRIBUTES,
    extraction_system_prompt,
    managed_topics,
)
from contextiq.ai.extractors.speaker import name_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
PERSONAL = "USER_PERSONAL_INFO"


def consolidate(facts: list[str]) -> list[str]:
    """Each fact in turn against every stored memory (all scored as near-identical), as one scope would."""
    decider, stored = HeuristicDecider(), {}
    for n, fact in enumerate(facts):
        similar = [ExistingMemory(mid, text, (PERSONAL,), 0.97) for mid, text in stored.items()]
        decision = decider.decide(CandidateFact(fact, PERSONAL), similar)
        if decision.action is Action.ADD:
            stored[f"m{n}"] = decision.fact
        elif decision.action is Action.UPDATE:
            stored[decision.memory_id] = decision.fact
        elif decision.action is Action.DELETE:
            del stored[decision.memory_id]
    return list(stored.values())


@pytest.mark.parametrize(
    "template",
    [
        "Alice visited Town{i} in {year}",
        "Alice lived in Town{i} in {year}",
        "Alice moved to Town{i} in {year}",
        "The user was born in Town{i} in {year}",
        "Alice's grandfather opened a bakery in Town{i} in {year}",
    ],
)
def test_ten_facts_differing_in_a_place_and_a_year_stay_ten(template: str) -> None:
    facts = [template.format(i=i, year=1990 + i) for i in range(10)]
    assert consolidate(facts) == facts


def test_past_events_on_other_dates_are_other_events_but_a_plan_is_rescheduled() -> None:
    assert consolidate(["Alice ran a marathon on 2024-05-01", "Alice ran a marathon on 2024-06-01"]) == [
        "Alice ran a marathon on 2024-05-01",
        "Alice ran a marathon on 2024-06-01",
    ]
    assert consolidate(["Alice is flying to Rome on 2024-05-17", "Alice is flying to Rome on 2024-05-24"]) == [
        "Alice is flying to Rome on 2024-05-24"
    ]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("Carol lives in Denver", "Carol moved from Denver to Seattle in October 2026"),
        ("Carol lives in Denver", "The user moved from Denver to Seattle in October 2026"),
        ("Carol works at Acme", "Carol works at Globex"),
        ("Carol is 34", "Carol is 35"),
        ("Carol is engaged", "Carol is married"),
        ("The user's name is Carol", "The user's name is Caroline"),
    ],
)
def test_a_single_valued_attribute_is_updated(earlier: str, later: str) -> None:
    assert consolidate([earlier, later]) == [later]


def test_multi_valued_facts_differing_in_a_name_stay_apart() -> None:
    facts = ["Carol likes Thai food", "Carol likes Korean food", "Carol speaks French", "Carol speaks Greek"]
    assert consolidate(facts) == facts
    assert relate("Carol visited Town1 in 1991", "Carol visited Town0 in 1990")[0] is Relation.UNRELATED


def test_the_known_name_names_the_user_in_a_later_conversation() -> None:
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    turns = [Turn("carol", "Update: I moved from Denver to Seattle last month.", at, "user", "e1")]
    extractor = HeuristicExtractor()
    assert [f.fact for f in extractor.extract(turns, managed_topics()).facts] == [
        "The user moved from Denver to Seattle in October 2026"
    ]
    facts = extractor.extract(turns, managed_topics(), known_name="Carol").facts
    assert [f.fact for f in facts] == ["Carol moved from Denver to Seattle in October 2026"]
    # a name said in the conversation itself wins
    said = [Turn("carol", "Hi, my name is Caro. I moved to Seattle last month.", at, "user", "e1")]
    assert "Caro moved to Seattle in October 2026" in [
        f.fact for f in extractor.extract(said, managed_topics(), known_name="Carol").facts
    ]
    assert name_in("The user's name is Carol") == "Carol"
    assert name_in("Carol lives in Denver") is None


# -- the Bedrock prompts -----------------------------------------------------------------------------


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def client() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_the_decision_prompt_states_the_rules() -> None:
    assert "differ in a number, a date or a named entity are different facts (ADD)" in DECISION_SYSTEM_PROMPT
    for attribute in ("name", "age", "residence", "employer", "relationship status"):
        assert any(a.startswith(attribute) for a in SINGLE_VALUED_ATTRIBUTES)
        assert attribute in DECISION_SYSTEM_PROMPT
    assert 'never "The user"' in DECISION_SYSTEM_PROMPT


def test_bedrock_decider_updates_a_residence_across_jobs_with_the_name(client: Any, stubber: Stubber) -> None:
    denver = ExistingMemory("01HXC0MEM0000000000000DENV", "Carol lives in Denver", (PERSONAL,), 0.78)
    candidate = CandidateFact("The user moved from Denver to Seattle in October 2026", PERSONAL, ("e9",))
    decider = BedrockDecider(client, MODEL)
    expected = decider.build_request(candidate, [denver])
    assert expected["system"] == [{"text": DECISION_SYSTEM_PROMPT}]
    stubber.add_response("converse", fixture("decision_update_named.json"), expected)
    decision = decider.decide(candidate, [denver])
    assert (decision.action, decision.memory_id, decision.fact) == (
        Action.UPDATE,
        denver.memory_id,
        "Carol moved from Denver to Seattle in October 2026",
    )


def test_bedrock_decider_adds_a_fact_differing_in_a_place_and_a_year(client: Any, stubber: Stubber) -> None:
    town0 = ExistingMemory("01HXC0MEM0000000000000TWN0", "Alice visited Town0 in 1990", (PERSONAL,), 0.96)
    candidate = CandidateFact("Alice visited Town1 in 1991", PERSONAL, ("e3",))
    decider = BedrockDecider(client, MODEL)
    stubber.add_response("converse", fixture("decision_add_distinct.json"), decider.build_request(candidate, [town0]))
    decision = decider.decide(candidate, [town0])
    assert (decision.action, decision.memory_id, decision.fact) == (Action.ADD, None, "Alice visited Town1 in 1991")


def test_bedrock_extractor_is_told_the_known_name(client: Any, stubber: Stubber) -> None:
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    turns = [
        Turn("carol", "Update: I moved from Denver to Seattle last month.", at, "user", "01HXD4N0A1B2C3D4E5F6G7H8J9")
    ]
    extractor = BedrockExtractor(client, MODEL)
    request = extractor.build_request(turns, managed_topics(), known_name="Carol")
    system = request["system"][0]["text"]
    assert system == extraction_system_prompt(managed_topics(), known_name="Carol")
    assert "The user's name, known from earlier conversations, is Carol" in system
    assert "known from earlier" not in extraction_system_prompt(managed_topics())  # only when known
    stubber.add_response("converse", fixture("extraction_known_name.json"), request)
    facts = extractor.extract(turns, managed_topics(), known_name="Carol").facts
    assert [(f.fact, f.source_event_ids) for f in facts] == [
        ("Carol moved from Denver to Seattle in October 2026", ("01HXD4N0A1B2C3D4E5F6G7H8J9",))
    ]
