"""A service-specific endpoint wins over the global one (docs/infrastructure.md, "SAM local"): the local
stack's moto for DynamoDB and SQS, AWS for Bedrock, in one process."""

from __future__ import annotations

import boto3
import pytest

from contextiq.ai.embedders.factory import bedrock_runtime_client as embedder_client
from contextiq.ai.extractors.factory import bedrock_runtime_client as extractor_client
from contextiq.config import Settings

MOTO = "http://127.0.0.1:47111"
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com"


@pytest.fixture
def endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", MOTO)  # what `contextiq local` sets for every client


def test_bedrock_follows_its_own_endpoint_over_the_global_one(endpoints: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", BEDROCK)
    assert embedder_client("us-east-1").meta.endpoint_url == BEDROCK  # type: ignore[attr-defined]
    assert extractor_client(Settings()).meta.endpoint_url == BEDROCK
    assert boto3.client("dynamodb", region_name="us-east-1").meta.endpoint_url == MOTO
    assert boto3.client("sqs", region_name="us-east-1").meta.endpoint_url == MOTO


def test_per_service_endpoints_leave_bedrock_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sam-local variant's way: only DynamoDB and SQS are redirected."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", MOTO)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", MOTO)
    assert boto3.client("dynamodb", region_name="us-east-1").meta.endpoint_url == MOTO
    assert boto3.client("sqs", region_name="us-east-1").meta.endpoint_url == MOTO
    assert embedder_client("us-east-1").meta.endpoint_url == BEDROCK  # type: ignore[attr-defined]
