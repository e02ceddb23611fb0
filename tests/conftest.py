"""Shared fixtures: fake AWS credentials, moto-backed resources, a container and an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

# CI explores the same examples on every run, so a red CI is reproducible and never a coin toss;
# locally each run draws new examples, which is where property tests find new bugs.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# Before anything imports boto3 or Powertools: never reach real AWS, flush no metrics, trace nothing.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
        "HF_HUB_OFFLINE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

TENANT_A_KEY = "key-tenant-a"
TENANT_B_KEY = "key-tenant-b"


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from contextiq.local.moto_fidelity import serialize_dynamodb_requests

    serialize_dynamodb_requests()
    with mock_aws():
        yield


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from contextiq.config import Settings

    return Settings(
        stage="test",
        embedder="hashing",
        embedding_dimensions=256,
        vector_index="embedded",
        extractor="local",
        data_dir=tmp_path / "data",
        api_key_cache_seconds=0,
        webhooks_allow_local=False,  # the cloud's rule, whatever a local runtime started in-process left in os.environ
    )


@pytest.fixture
def container(aws, settings):  # type: ignore[no-untyped-def]
    from contextiq.container import Container
    from contextiq.local.bootstrap import bootstrap

    base = Container(settings)
    ready = bootstrap(base.dynamodb, base.sqs, settings)
    c = Container(ready)
    c.api_keys.put(TENANT_A_KEY, "tenant-a", key_id="ka")
    c.api_keys.put(TENANT_B_KEY, "tenant-b", key_id="kb")
    return c


@pytest.fixture
def api(container):  # type: ignore[no-untyped-def]
    """An HTTP client on the whole app, authenticated as tenant A (pass headers to act as B)."""
    from fastapi.testclient import TestClient

    from contextiq.api.app import create_app

    with TestClient(create_app(container), headers={"x-api-key": TENANT_A_KEY}) as client:
        yield client


@pytest.fixture
def workers(container, monkeypatch):  # type: ignore[no-untyped-def]
    """Point the Lambda handler modules at the test stack; returns drain() that runs the queues dry."""
    from contextiq.local import workers as local_workers
    from contextiq.local.inprocess import forget_handlers, generation_queues, settings_env

    for name, value in settings_env(container.settings).items():
        monkeypatch.setenv(name, value)
    forget_handlers()
    monkeypatch.setattr(local_workers, "RETRY_AFTER_SECONDS", 0)
    queues = generation_queues(container.settings)

    def drain(max_rounds: int = 50) -> None:
        local_workers.drain(container.sqs, queues, max_rounds)

    yield drain
    forget_handlers()
