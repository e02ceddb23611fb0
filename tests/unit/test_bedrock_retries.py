"""One retry policy per Bedrock client, bounded by the time left in the Lambda invocation (botocore Stubber)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from contextiq import deadline
from contextiq.ai import retry
from contextiq.ai.embedders.bedrock import BedrockTitanEmbedder, EmbeddingError
from contextiq.ai.embedders.factory import bedrock_runtime_client as embed_client
from contextiq.ai.extractors.bedrock import BedrockUnavailableError
from contextiq.ai.extractors.factory import bedrock_runtime_client as converse_client
from contextiq.config import Settings

MODEL = "amazon.titan-embed-text-v2:0"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    yield
    deadline.clear()


class FakeContext:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_both_clients_turn_botocore_retries_off() -> None:
    # Before: adaptive mode with max_attempts=8 under 6 hand-written attempts = up to 48 calls per text.
    for client in (embed_client("us-east-1"), converse_client(Settings(AWS_REGION="us-east-1"))):
        assert client.meta.config.retries["total_max_attempts"] == 1  # type: ignore[attr-defined]


def test_a_throttled_embedding_makes_at_most_max_attempts_calls() -> None:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", config=retry.client_config(read_timeout=1))
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, sleep=lambda s: None)
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("invoke_model", "ThrottlingException", "slow down", 429)
        with pytest.raises(EmbeddingError, match=r"after 3 attempt\(s\)"):
            emb.embed_query("hello")
        stub.assert_no_pending_responses()  # exactly 3 calls: the Stubber fails on a 4th


def test_retries_stop_when_the_invocation_is_about_to_end() -> None:
    clock = FakeClock()
    deadline.start(FakeContext(millis=5_000), clock=clock)  # 5 s left; policy keeps 2 s + needs 1 s per call
    client = boto3.client("bedrock-runtime", region_name="us-east-1", config=retry.client_config(read_timeout=1))
    emb = BedrockTitanEmbedder(
        client, MODEL, dimensions=256, max_attempts=50, base_delay=0.5, max_delay=0.5, sleep=clock.sleep
    )
    calls = 0
    with Stubber(client) as stub:
        for _ in range(50):
            stub.add_client_error("invoke_model", "ThrottlingException", "slow down", 429)

        def count(**kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            clock.now += 0.2  # each call takes 0.2 s

        client.meta.events.register("before-parameter-build.bedrock-runtime.InvokeModel", count)
        with pytest.raises(EmbeddingError, match="too little for another"):
            emb.embed_query("hello")
    assert 2 <= calls < 50
    assert deadline.remaining() is not None and deadline.remaining() >= 2.0 - 0.2  # the reserve is kept


def test_the_converse_caller_gives_up_within_the_invocation_too() -> None:
    from contextiq.ai.extractors.bedrock import BedrockDecider

    clock = FakeClock()
    deadline.start(FakeContext(millis=3_500), clock=clock)
    client = converse_client(Settings(AWS_REGION="us-east-1"))
    decider = BedrockDecider(client, "us.anthropic.claude-haiku-4-5-20251001-v1:0", max_retries=20, sleep=clock.sleep)
    with Stubber(client) as stub:
        for _ in range(21):
            stub.add_client_error("converse", "ServiceUnavailableException", "busy", 503)
        with pytest.raises(BedrockUnavailableError, match="too little for another") as info:
            decider._caller.converse(
                {"modelId": decider.model_id, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
            )
    assert info.value.attempts < 21


def test_no_deadline_outside_lambda() -> None:
    deadline.clear()
    assert deadline.remaining() is None
    policy = retry.RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=2.0)
    delays = [policy.delay(n, random.Random(n)) for n in range(10)]
    assert all(0.0 <= d <= 2.0 for d in delays)
    with pytest.raises(ValueError):
        retry.RetryPolicy(max_attempts=0)


def test_non_retryable_errors_propagate_at_once() -> None:
    from botocore.exceptions import ClientError

    calls = 0

    def fail() -> None:
        nonlocal calls
        calls += 1
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": json.dumps("no")}}, "Converse")

    with pytest.raises(ClientError):
        retry.call_with_retries(fail, policy=retry.RetryPolicy(), what="x", sleep=lambda s: None)
    assert calls == 1


def test_every_handler_kind_starts_the_deadline_from_its_context() -> None:
    from dataclasses import dataclass

    from aws_lambda_powertools.utilities.batch import EventType

    from contextiq.handlers.stream_worker import batch_handler

    @dataclass
    class LambdaContext:
        function_name: str = "indexer"
        function_version: str = "$LATEST"
        invoked_function_arn: str = "arn:aws:lambda:us-east-1:111122223333:function:indexer"
        memory_limit_in_mb: int = 512
        aws_request_id: str = "req-1"
        log_group_name: str = "/aws/lambda/indexer"
        log_stream_name: str = "stream"

        def get_remaining_time_in_millis(self) -> int:
            return 7_000

    seen: list[float | None] = []
    handler = batch_handler(EventType.DynamoDBStreams, lambda record: seen.append(deadline.remaining()))
    record = {"eventID": "1", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "1"}}
    assert handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert seen and seen[0] is not None and 6.0 < seen[0] <= 7.0
    for module in ("http", "queue_worker", "stream_worker"):
        source = Path(__file__).resolve().parents[2] / "layers/core/python/contextiq/handlers" / f"{module}.py"
        assert "deadline.start(context)" in source.read_text(), module
