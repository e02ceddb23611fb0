"""The generation pipeline's message models: what the API stores is what the workers read back."""

from __future__ import annotations

import pytest

from contextiq.models.jobs import GenerateRequest
from contextiq.models.pipeline import (
    ConsolidationMessage,
    ExtractionMessage,
    JobSpec,
    MalformedMessageError,
    parse_message,
)


def test_job_spec_round_trips_every_option() -> None:
    req = GenerateRequest.model_validate(
        {
            "events": [{"author": "user", "text": "I like tea", "timestamp": "2026-01-02T03:04:05Z"}],
            "scope": {"user_id": "u"},
            "topics": ["USER_PREFERENCES", {"label": "pets", "description": "animals they keep"}],
            "examples": [{"conversation": [{"author": "user", "text": "I have a cat"}], "facts": ["has a cat"]}],
            "disable_consolidation": True,
            "wait_seconds": 3,
        }
    )
    spec = JobSpec.of(req, {"user_id": "u"})
    assert "wait_seconds" not in spec.to_json() and "session_id" not in spec.to_json()
    back = parse_message(JobSpec, spec.to_json())
    assert back == spec
    assert back.events and back.events[0].timestamp and back.events[0].timestamp.year == 2026
    assert back.topics and back.topics[1].label == "pets"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"scope": {"u": "1"}}', "exactly one source"),
        ('{"scope": {"u": "1"}, "facts": ["x"], "topics": ["NOPE"]}', "topics.0.*Input should be 'USER_PERSONAL_INFO'"),
        ('{"facts": ["x"]}', "scope: Field required"),
    ],
)
def test_a_stored_spec_that_cannot_be_run_is_malformed(body: str, problem: str) -> None:
    with pytest.raises(MalformedMessageError, match=problem):
        parse_message(JobSpec, body)


def test_messages_name_what_is_wrong_and_ignore_what_they_do_not_know() -> None:
    assert parse_message(ExtractionMessage, '{"tenant": "t", "job_id": "j", "new": 1}').job_id == "j"
    with pytest.raises(MalformedMessageError, match=r"malformed ExtractionMessage: job_id: Field required"):
        parse_message(ExtractionMessage, '{"tenant": "t"}')
    with pytest.raises(MalformedMessageError, match=r"part: Input should be greater than or equal to 0"):
        parse_message(ConsolidationMessage, '{"tenant": "t", "job_id": "j", "part": -1, "scope": {}, "candidates": []}')
    with pytest.raises(MalformedMessageError, match="body: Invalid JSON"):
        parse_message(ExtractionMessage, b"{")
