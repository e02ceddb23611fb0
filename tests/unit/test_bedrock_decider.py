"""BedrockDecider against a real bedrock-runtime client with botocore's Stubber replaying Converse answers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contextiq.ai.extractors.base import (
    Action,
    CandidateFact,
    Decision,
    ExistingMemory,
    MalformedModelOutputError,
    ModelUsage,
)
from contextiq.ai.extractors.bedrock import BedrockDecider, BedrockUnavailableError
from contextiq.ai.extractors.prompts import DECISION_SYSTEM_PROMPT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PARIS = ExistingMemory("01HXC0MEM0000000000000PARS", "Alice lives in Paris", ("USER_PERSONAL_INFO",), 0.83)
VEGE = ExistingMemory("01HXC0MEM0000000000000VEGE", "Alice is vegetarian", ("USER_PREFERENCES",), 0.41)
SIMILAR = [PARIS, VEGE]


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


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def decider(client: Any, sleeps: list[float]) -> BedrockDecider:
    return BedrockDecider(client, MODEL, max_retries=2, sleep=sleeps.append, rng=random.Random(3))


def test_request_carries_the_candidate_memories_schema_and_tool_choice(
    decider: BedrockDecider, stubber: Stubber
) -> None:
    candidate = CandidateFact("Alice moved to Berlin", "USER_PERSONAL_INFO", ("e9",))
    expected_params = {
        "modelId": MODEL,
        "system": [{"text": DECISION_SYSTEM_PROMPT}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "text": "Candidate fact (topic USER_PERSONAL_INFO): Alice moved to Berlin\n\n"
                        "Similar stored memories:\n"
                        "- id=01HXC0MEM0000000000000PARS score=0.830 topics=[USER_PERSONAL_INFO]: "
                        "Alice lives in Paris\n"
                        "- id=01HXC0MEM0000000000000VEGE score=0.410 topics=[USER_PREFERENCES]: "
                        "Alice is vegetarian\n\n"
                        "Call the record_decision tool with your decision."
                    }
                ],
            }
        ],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "record_decision",
                        "description": "Record how the candidate fact merges into the stored memories.",
                        "inputSchema": {
                            "json": {
                                "type": "object",
                                "properties": {
                                    "action": {"type": "string", "enum": ["ADD", "UPDATE", "DELETE", "NOOP"]},
                                    "memory_id": {
                                        "type": ["string", "null"],
                                        "enum": [PARIS.memory_id, VEGE.memory_id, None],
                                        "description": "The stored memory to UPDATE, DELETE or that makes this "
                                        "a NOOP; null for ADD.",
                                    },
                                    "fact": {
                                        "type": ["string", "null"],
                                        "description": "The sentence to store for ADD and UPDATE; null for "
                                        "DELETE and NOOP.",
                                    },
                                    "reason": {
                                        "type": "string",
                                        "description": "One short sentence explaining the action.",
                                    },
                                },
                                "required": ["action", "memory_id", "fact", "reason"],
                                "additionalProperties": False,
                            }
                        },
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "record_decision"}},
        },
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.0},
    }
    stubber.add_response("converse", fixture("decision_update.json"), expected_params)

    decision = decider.decide(candidate, SIMILAR)

    assert decision == Decision(
        Action.UPDATE,
        PARIS.memory_id,
        "Alice lives in Berlin",
        "Alice moved: the city of residence changed from Paris to Berlin.",
        ModelUsage(640, 71),
    )


@pytest.mark.parametrize(
    ("name", "action", "memory_id", "fact"),
    [
        ("decision_add.json", Action.ADD, None, "Alice is allergic to peanuts"),
        ("decision_update.json", Action.UPDATE, PARIS.memory_id, "Alice lives in Berlin"),
        ("decision_delete.json", Action.DELETE, VEGE.memory_id, None),
        ("decision_noop.json", Action.NOOP, VEGE.memory_id, None),
    ],
)
def test_each_action(
    decider: BedrockDecider, stubber: Stubber, name: str, action: Action, memory_id: str | None, fact: str | None
) -> None:
    stubber.add_response("converse", fixture(name))
    decision = decider.decide(CandidateFact("Alice ...", "USER_PREFERENCES"), SIMILAR)
    assert (decision.action, decision.memory_id, decision.fact) == (action, memory_id, fact)
    assert decision.reason
    assert decision.usage.input_tokens > 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("decision_bad_action.json", "action: Input should be 'ADD', 'UPDATE', 'DELETE' or 'NOOP'"),
        ("decision_bad_memory_id.json", "memory_id '01HXC0MEM00000000000000XYZ' is not one of the similar"),
        ("decision_update_without_fact.json", "UPDATE needs a non-empty fact"),
        ("decision_delete_without_memory.json", "DELETE needs the memory_id"),
        ("decision_missing_fields.json", "memory_id: Field required"),
        ("decision_text_only.json", "stopReason='end_turn'"),
        ("extraction_ok.json", "no toolUse block for tool 'record_decision'"),
    ],
)
def test_malformed_decisions_raise(decider: BedrockDecider, stubber: Stubber, name: str, message: str) -> None:
    stubber.add_response("converse", fixture(name))
    with pytest.raises(MalformedModelOutputError, match=message):
        decider.decide(CandidateFact("Alice moved to Berlin", "USER_PERSONAL_INFO"), SIMILAR)


def test_add_naming_a_memory_is_malformed(decider: BedrockDecider, stubber: Stubber) -> None:
    answer = fixture("decision_add.json")
    answer["output"]["message"]["content"][0]["toolUse"]["input"]["memory_id"] = PARIS.memory_id
    stubber.add_response("converse", answer)
    with pytest.raises(MalformedModelOutputError, match="ADD must not name a memory_id"):
        decider.decide(CandidateFact("Alice is allergic to peanuts", "USER_PREFERENCES"), SIMILAR)


def test_no_similar_memories_adds_without_calling_the_model(decider: BedrockDecider, stubber: Stubber) -> None:
    decision = decider.decide(CandidateFact("Alice is allergic to peanuts", "USER_PREFERENCES"), [])
    assert decision == Decision(Action.ADD, None, "Alice is allergic to peanuts", "no similar memory stored")


def test_throttling_then_success(decider: BedrockDecider, stubber: Stubber, sleeps: list[float]) -> None:
    error = fixture("throttling.json")
    stubber.add_client_error(
        "converse", error["service_error_code"], error["service_message"], error["http_status_code"]
    )
    stubber.add_response("converse", fixture("decision_noop.json"))
    decision = decider.decide(CandidateFact("Alice is vegetarian", "USER_PREFERENCES"), SIMILAR)
    assert decision.action is Action.NOOP
    assert len(sleeps) == 1


def test_gives_up_after_max_retries(decider: BedrockDecider, stubber: Stubber, sleeps: list[float]) -> None:
    error = fixture("service_unavailable.json")
    for _ in range(3):
        stubber.add_client_error(
            "converse", error["service_error_code"], error["service_message"], error["http_status_code"]
        )
    with pytest.raises(BedrockUnavailableError, match="ServiceUnavailableException after 3 attempts"):
        decider.decide(CandidateFact("Alice is vegetarian", "USER_PREFERENCES"), SIMILAR)
    assert len(sleeps) == 2
