"""BedrockExtractor against a real bedrock-runtime client with botocore's Stubber replaying Converse answers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from contextiq.ai.extractors.base import (
    MANAGED_TOPICS,
    CandidateFact,
    FewShotExample,
    MalformedModelOutputError,
    ModelUsage,
    Topic,
    Turn,
)
from contextiq.ai.extractors.bedrock import (
    MAX_INPUT_CHARS,
    BedrockExtractor,
    BedrockUnavailableError,
    InputTooLargeError,
)
from contextiq.ai.extractors.prompts import EXTRACTION_TOOL_NAME, extraction_system_prompt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
E1, E2, E3, E4, E5 = (
    "01HXB2K5Q8A3M5P7R9T1V3X5Z7",
    "01HXB2K8C4D6F8H0J2K4M6N8P0",
    "01HXB2KB0R2S4T6V8W0X2Y4Z6A",
    "01HXB2KDXE1G3J5K7M9N1P3Q5R",
    "01HXB2KGHT7V9W1X3Y5Z7A9B1C",
)
T0 = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)
TURNS = (
    Turn("alice", "Hi, my name is Alice. I'm flying to Lisbon next Friday.", T0, "user", E1),
    Turn("assistant", "Nice! Where are you flying from?", T0.replace(minute=1), "assistant", E2),
    Turn("alice", "From Paris, on the morning flight.", T0.replace(minute=2), "user", E3),
    Turn("assistant", "Any dietary needs?", T0.replace(minute=3), "assistant", E4),
    Turn("alice", "I'm vegetarian.", T0.replace(minute=4), "user", E5),
)
TOPICS = [Topic(label, description, managed=True) for label, description in MANAGED_TOPICS.items()]


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
def extractor(client: Any, sleeps: list[float]) -> BedrockExtractor:
    return BedrockExtractor(client, MODEL, max_retries=3, sleep=sleeps.append, rng=random.Random(7))


def add_error(stubber: Stubber, name: str) -> None:
    error = fixture(name)
    stubber.add_client_error(
        "converse",
        service_error_code=error["service_error_code"],
        service_message=error["service_message"],
        http_status_code=error["http_status_code"],
    )


EXPECTED_SCHEMA = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "description": "Facts worth remembering about the user; empty when there are none.",
            "items": {
                "type": "object",
                "properties": {
                    "fact": {
                        "type": "string",
                        "minLength": 1,
                        "description": "One self-contained third-person sentence about the user.",
                    },
                    "topic": {"type": "string", "enum": list(MANAGED_TOPICS)},
                    "source_event_ids": {
                        "type": "array",
                        "items": {"type": "string", "enum": [E1, E2, E3, E4, E5]},
                        "minItems": 1,
                        "description": "Ids of the conversation events the fact comes from.",
                    },
                },
                "required": ["fact", "topic", "source_event_ids"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["facts"],
    "additionalProperties": False,
}


def test_good_extraction_sends_the_tool_schema_and_forces_the_tool(
    extractor: BedrockExtractor, stubber: Stubber
) -> None:
    expected_params = {
        "modelId": MODEL,
        "system": [{"text": extraction_system_prompt(TOPICS)}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "record_facts",
                        "description": "Record the facts about the user extracted from the conversation.",
                        "inputSchema": {"json": EXPECTED_SCHEMA},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "record_facts"}},
        },
        "inferenceConfig": {"maxTokens": 2048, "temperature": 0.0},
    }
    stubber.add_response("converse", fixture("extraction_ok.json"), expected_params)

    extraction = extractor.extract(TURNS, TOPICS)

    assert extraction.facts == [
        CandidateFact("The user's name is Alice", "USER_PERSONAL_INFO", (E1,)),
        CandidateFact("Alice is flying to Lisbon on 2024-05-17", "KEY_CONVERSATION_DETAILS", (E1, E3)),
        CandidateFact("Alice is vegetarian", "USER_PREFERENCES", (E5,)),
    ]
    assert extraction.usage == ModelUsage(input_tokens=1187, output_tokens=164)


def test_request_renders_the_conversation_topics_and_examples(extractor: BedrockExtractor) -> None:
    custom = Topic("travel_plans", "Trips, flights and hotels the user books.")
    example = FewShotExample(
        conversation=(Turn("bob", "I booked the Hotel Lux for June.", T0, "user", "ex-1"),),
        facts=("Bob booked the Hotel Lux for June 2024",),
    )
    request = extractor.build_request(TURNS, [*TOPICS[:2], custom], [example])

    system = request["system"][0]["text"]
    assert "- USER_PERSONAL_INFO (managed): " + MANAGED_TOPICS["USER_PERSONAL_INFO"] in system
    assert "- travel_plans (custom): Trips, flights and hotels the user books." in system
    assert "KEY_CONVERSATION_DETAILS" not in system.split("Topics (use the label exactly as written):")[1]
    assert "[ex-1] 2024-05-08T09:00:00Z user (bob): I booked the Hotel Lux for June." in system
    assert "- Bob booked the Hotel Lux for June 2024" in system
    conversation = request["messages"][0]["content"][0]["text"]
    assert f"[{E1}] 2024-05-08T09:00:00Z user (alice): Hi, my name is Alice." in conversation
    assert f"[{E2}] 2024-05-08T09:01:00Z assistant (assistant): Nice!" in conversation
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["facts"]["items"]["properties"]["topic"]["enum"] == [
        "USER_PERSONAL_INFO",
        "USER_PREFERENCES",
        "travel_plans",
    ]
    assert request["toolConfig"]["toolChoice"] == {"tool": {"name": EXTRACTION_TOOL_NAME}}
    assert request["inferenceConfig"]["temperature"] == 0.0


def test_text_before_the_tool_call_is_ignored(extractor: BedrockExtractor, stubber: Stubber) -> None:
    stubber.add_response("converse", fixture("extraction_text_and_tool.json"))
    extraction = extractor.extract(TURNS, TOPICS)
    assert [f.fact for f in extraction.facts] == ["The user's name is Alice"]


def test_empty_extraction(extractor: BedrockExtractor, stubber: Stubber) -> None:
    stubber.add_response("converse", fixture("extraction_empty.json"))
    extraction = extractor.extract(TURNS, TOPICS)
    assert extraction.facts == []
    assert extraction.usage.output_tokens == 31


def test_turns_without_event_ids_get_positional_ids_that_are_not_returned(client: Any, stubber: Stubber) -> None:
    turns = [Turn("alice", "I'm vegetarian.", T0, "user")]
    answer = fixture("extraction_ok.json")
    answer["output"]["message"]["content"][0]["toolUse"]["input"] = {
        "facts": [{"fact": "Alice is vegetarian", "topic": "USER_PREFERENCES", "source_event_ids": ["turn-1"]}]
    }
    stubber.add_response("converse", answer)
    extraction = BedrockExtractor(client, MODEL).extract(turns, TOPICS)
    assert extraction.facts == [CandidateFact("Alice is vegetarian", "USER_PREFERENCES", ())]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("extraction_text_only.json", "stopReason='end_turn', expected 'tool_use'"),
        ("extraction_max_tokens.json", "cut off"),
        ("extraction_unknown_topic.json", "'TRAVEL_PLANS' is not one of the requested topics"),
        ("extraction_unknown_event.json", "are not events of the conversation"),
        ("extraction_missing_fields.json", "facts.0.topic: Field required"),
        ("extraction_wrong_types.json", "facts.0.source_event_ids: Input should be a valid list"),
        ("extraction_wrong_tool.json", "no toolUse block for tool 'record_facts'"),
    ],
)
def test_malformed_answers_raise(extractor: BedrockExtractor, stubber: Stubber, name: str, message: str) -> None:
    stubber.add_response("converse", fixture(name))
    with pytest.raises(MalformedModelOutputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        extractor.extract(TURNS, TOPICS)


def test_throttling_is_retried_with_backoff(extractor: BedrockExtractor, stubber: Stubber, sleeps: list[float]) -> None:
    add_error(stubber, "throttling.json")
    add_error(stubber, "model_not_ready.json")
    add_error(stubber, "service_unavailable.json")
    stubber.add_response("converse", fixture("extraction_ok.json"))

    extraction = extractor.extract(TURNS, TOPICS)

    assert len(extraction.facts) == 3
    assert len(sleeps) == 3
    # the shared policy (contextiq.ai.retry): exponential with full jitter, retry n waits <= base * 2**n
    for attempt, delay in enumerate(sleeps):
        assert 0.0 <= delay <= 0.5 * 2**attempt


def test_gives_up_after_max_retries(extractor: BedrockExtractor, stubber: Stubber, sleeps: list[float]) -> None:
    for _ in range(4):
        add_error(stubber, "throttling.json")
    with pytest.raises(BedrockUnavailableError, match="ThrottlingException after 4 attempts") as info:
        extractor.extract(TURNS, TOPICS)
    assert info.value.code == "ThrottlingException"
    assert info.value.attempts == 4
    assert len(sleeps) == 3


def test_other_errors_are_not_retried(extractor: BedrockExtractor, stubber: Stubber, sleeps: list[float]) -> None:
    add_error(stubber, "access_denied.json")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        extractor.extract(TURNS, TOPICS)
    assert sleeps == []


def test_backoff_is_capped(client: Any) -> None:
    extractor = BedrockExtractor(client, MODEL, base_delay=1.0, max_delay=4.0, rng=random.Random(1))
    delays = [extractor._caller.backoff(n) for n in range(200)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert max(delays[3:]) > 3.0  # the cap, not the exponent, bounds late retries


def test_refuses_a_conversation_over_the_character_budget(extractor: BedrockExtractor, stubber: Stubber) -> None:
    turns = [Turn("alice", "x" * 1000, T0, "user", f"e{i}") for i in range(MAX_INPUT_CHARS // 1000 + 1)]
    with pytest.raises(InputTooLargeError, match="over the budget of 60000"):
        extractor.extract(turns, TOPICS)


def test_no_turns_no_call(extractor: BedrockExtractor) -> None:
    assert extractor.extract([], TOPICS).facts == []


def test_no_topics_means_the_managed_topics(extractor: BedrockExtractor) -> None:
    request = extractor.build_request(TURNS, [])
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["facts"]["items"]["properties"]["topic"]["enum"] == list(MANAGED_TOPICS)
