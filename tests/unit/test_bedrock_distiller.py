"""BedrockDistiller against a real bedrock-runtime client with botocore's Stubber replaying Converse answers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from contextiq.ai.distillers.bedrock import SYSTEM_PROMPT, TOOL_NAME, BedrockDistiller
from contextiq.ai.extractors.base import MalformedModelOutputError
from contextiq.ai.extractors.bedrock import BedrockUnavailableError
from contextiq.models.procedures import ProcedureKind
from contextiq.models.trajectories import Outcome, Trajectory, TrajectoryStep

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def run(n: int, origin: str, dest: str) -> Trajectory:
    return Trajectory(
        id=f"01HXTRAJ00000000000000000{n}",
        scope={"user_id": "u"},
        task=f"Book a flight from {origin} to {dest} on 2025-0{n}-01",
        steps=[
            TrajectoryStep(
                thought="search",
                tool="search_flights",
                arguments={"origin": origin, "destination": dest, "date": f"2025-0{n}-01"},
                observation="3 flights",
                event_ids=[f"ev{n}a"],
            ),
            TrajectoryStep(tool="book_flight", arguments={"fare": "cheapest"}, event_ids=[f"ev{n}b"]),
        ],
        outcome=Outcome(status="success"),
        metadata={},
        create_time=datetime(2025, 1, n, tzinfo=UTC),
    )


RUNS = [run(1, "Paris", "Rome"), run(2, "Berlin", "Madrid")]


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
def distiller(client: Any, sleeps: list[float]) -> BedrockDistiller:
    return BedrockDistiller(client, MODEL, max_retries=2, sleep=sleeps.append, rng=random.Random(1))


def test_request_forces_the_tool_and_carries_the_runs(distiller: BedrockDistiller, stubber: Stubber) -> None:
    expected = {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": ANY,
        "toolConfig": ANY,
        "inferenceConfig": {"maxTokens": 2048, "temperature": 0.0},
    }
    stubber.add_response("converse", fixture("procedure_ok.json"), expected)
    request = distiller.build_request(RUNS)
    assert request["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    schema = request["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["required"] == ["name", "description", "steps", "parameters"]
    text = request["messages"][0]["content"][0]["text"]
    assert "Run 1. Task: Book a flight from Paris to Rome" in text and '"destination": "Madrid"' in text
    assert distiller.distill(RUNS) is not None


def test_a_good_answer_becomes_a_procedure_with_provenance(distiller: BedrockDistiller, stubber: Stubber) -> None:
    stubber.add_response("converse", fixture("procedure_ok.json"))
    p = distiller.distill(RUNS)
    assert p is not None and p.kind is ProcedureKind.WORKFLOW
    assert [s.tool for s in p.steps] == ["search_flights", "book_flight"]
    assert [x.name for x in p.parameters] == ["origin", "destination", "date"]
    assert p.trajectory_ids == (RUNS[0].id, RUNS[1].id) and p.event_ids == ("ev1a", "ev1b", "ev2a", "ev2b")
    assert p.usage.input_tokens == 845 and p.usage.output_tokens == 231


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("procedure_unknown_tool.json", "'charge_card' is not a tool the runs used"),
        ("procedure_undeclared_parameter.json", r"undeclared parameters \['date'\]"),
        ("procedure_missing_fields.json", "does not match the schema"),
        ("decision_add.json", "no toolUse block for tool 'record_procedure'"),
        ("extraction_max_tokens.json", "stopReason='max_tokens'"),
    ],
)
def test_malformed_answers_fail(distiller: BedrockDistiller, stubber: Stubber, name: str, message: str) -> None:
    stubber.add_response("converse", fixture(name))
    with pytest.raises(MalformedModelOutputError, match=message):
        distiller.distill(RUNS)


def test_throttling_is_retried_then_gives_up(
    distiller: BedrockDistiller, stubber: Stubber, sleeps: list[float]
) -> None:
    error = fixture("throttling.json")
    stubber.add_client_error("converse", error["service_error_code"], error["service_message"], 429)
    stubber.add_response("converse", fixture("procedure_ok.json"))
    assert distiller.distill(RUNS) is not None and len(sleeps) == 1
    for _ in range(3):
        stubber.add_client_error("converse", error["service_error_code"], error["service_message"], 429)
    with pytest.raises(BedrockUnavailableError):
        distiller.distill(RUNS)
