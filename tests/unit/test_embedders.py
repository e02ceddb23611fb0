"""Embedders without a model: hashing, Bedrock Titan V2 (botocore Stubber replaying real response shapes),
and the factory."""

from __future__ import annotations

import io
import json
import math
import threading
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from contextiq.ai.embedders.bedrock import BedrockTitanEmbedder, EmbeddingError
from contextiq.ai.embedders.factory import build_embedder
from contextiq.ai.embedders.hashing import HashingEmbedder
from contextiq.ai.embedders.minilm import MiniLMEmbedder
from contextiq.config import Settings

MODEL = "amazon.titan-embed-text-v2:0"


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# -- hashing --------------------------------------------------------------------------------------------


def test_hashing_is_deterministic_normalised_and_sized() -> None:
    emb = HashingEmbedder(64)
    assert emb.model_id == "hashing-v1"
    assert emb.dimensions == 64
    a, b = emb.embed(["The user is vegetarian", "The user is vegetarian"])
    assert a == b == emb.embed_query("The user is vegetarian")
    assert len(a) == 64
    assert norm(a) == pytest.approx(1.0)
    assert HashingEmbedder(64).embed_query("x") == emb.embed_query("x")  # no per-instance state


def test_hashing_shared_words_are_closer() -> None:
    emb = HashingEmbedder(256)
    base = emb.embed_query("the user's flight leaves on Tuesday")
    near = emb.embed_query("flight leaves Tuesday morning")
    far = emb.embed_query("prefers green tea without sugar")
    assert cos(base, near) > cos(base, far)
    assert emb.embed_query("Tuesday flight") != emb.embed_query("flight Tuesday")  # bigrams keep order


def test_hashing_empty_text_is_still_a_unit_vector() -> None:
    v = HashingEmbedder(32).embed_query("")
    assert norm(v) == pytest.approx(1.0)
    assert HashingEmbedder(32).embed([]) == []


# -- Bedrock Titan V2 ------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )


def titan_response(embedding: list[float], tokens: int = 7) -> dict[str, Any]:
    payload = json.dumps(
        {"embedding": embedding, "inputTextTokenCount": tokens, "embeddingsByType": {"float": embedding}}
    ).encode()
    return {"body": StreamingBody(io.BytesIO(payload), len(payload)), "contentType": "application/json"}


def raw_response(payload: bytes) -> dict[str, Any]:
    return {"body": StreamingBody(io.BytesIO(payload), len(payload)), "contentType": "application/json"}


def expected_params(text: str, dims: int = 256) -> dict[str, Any]:
    return {
        "modelId": MODEL,
        "body": json.dumps({"inputText": text, "dimensions": dims, "normalize": True}),
        "contentType": "application/json",
        "accept": "application/json",
    }


def unit_vector(dims: int, hot: int = 0) -> list[float]:
    v = [0.0] * dims
    v[hot] = 1.0
    return v


def test_titan_request_and_response(client: Any) -> None:
    sleeps: list[float] = []
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, sleep=sleeps.append)
    with Stubber(client) as stub:
        stub.add_response("invoke_model", titan_response(unit_vector(256, 3)), expected_params("I'm vegetarian"))
        vec = emb.embed_query("I'm vegetarian")
        stub.assert_no_pending_responses()
    assert vec == unit_vector(256, 3)
    assert emb.model_id == MODEL
    assert emb.dimensions == 256
    assert sleeps == []


def test_titan_output_is_normalised_client_side(client: Any) -> None:
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, normalize=False)
    raw = [3.0, 4.0] + [0.0] * 254
    with Stubber(client) as stub:
        params = expected_params("x")
        params["body"] = json.dumps({"inputText": "x", "dimensions": 256, "normalize": False})
        stub.add_response("invoke_model", titan_response(raw), params)
        vec = emb.embed_query("x")
    assert vec[:2] == pytest.approx([0.6, 0.8])
    assert norm(vec) == pytest.approx(1.0)


def test_titan_throttling_is_retried_with_backoff(client: Any) -> None:
    sleeps: list[float] = []
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, sleep=sleeps.append, base_delay=0.5)
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_model", "ThrottlingException", "Too many requests, please wait before trying again.", 429
        )
        stub.add_client_error("invoke_model", "ServiceUnavailableException", "Service unavailable", 503)
        stub.add_response("invoke_model", titan_response(unit_vector(256, 1)), expected_params("hello"))
        vec = emb.embed_query("hello")
        stub.assert_no_pending_responses()
    assert vec == unit_vector(256, 1)
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 0.5
    assert 0.0 <= sleeps[1] <= 1.0  # exponential cap with full jitter


def test_titan_gives_up_after_max_attempts(client: Any) -> None:
    sleeps: list[float] = []
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, sleep=sleeps.append, max_attempts=3)
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
        with pytest.raises(EmbeddingError, match=r"after 3 attempt\(s\): ThrottlingException"):
            emb.embed_query("hello")
    assert len(sleeps) == 2


def test_titan_validation_errors_are_not_retried(client: Any) -> None:
    sleeps: list[float] = []
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256, sleep=sleeps.append)
    with Stubber(client) as stub:
        stub.add_client_error("invoke_model", "ValidationException", "Malformed input request", 400)
        with pytest.raises(EmbeddingError, match="ValidationException: Malformed input request"):
            emb.embed_query("hello")
    assert sleeps == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"message": "unexpected"}', "no 'embedding' array"),
        (b"not json at all", "unreadable response body"),
        (json.dumps({"embedding": [0.1] * 10, "inputTextTokenCount": 1}).encode(), "returned 10 dimensions"),
        (json.dumps({"embedding": ["a"] * 256, "inputTextTokenCount": 1}).encode(), "non-numeric"),
        (json.dumps({"embedding": [0.0] * 256, "inputTextTokenCount": 1}).encode(), "zero or non-finite"),
    ],
    ids=["no-embedding", "not-json", "wrong-dims", "non-numeric", "zero"],
)
def test_titan_malformed_bodies_raise_clearly(client: Any, payload: bytes, message: str) -> None:
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256)
    with Stubber(client) as stub:
        stub.add_response("invoke_model", raw_response(payload), expected_params("hello"))
        with pytest.raises(EmbeddingError, match=message):
            emb.embed_query("hello")


def test_titan_rejects_unsupported_dimensions_and_empty_text(client: Any) -> None:
    with pytest.raises(ValueError, match="256, 512, 1024"):
        BedrockTitanEmbedder(client, MODEL, dimensions=384)
    with pytest.raises(ValueError, match="empty"):
        BedrockTitanEmbedder(client, MODEL, dimensions=256).embed_query("   ")


def test_titan_long_texts_are_truncated_to_the_model_limit(client: Any) -> None:
    emb = BedrockTitanEmbedder(client, MODEL, dimensions=256)
    with Stubber(client) as stub:
        stub.add_response("invoke_model", titan_response(unit_vector(256)), expected_params("a" * 50_000))
        emb.embed_query("a" * 60_000)
        stub.assert_no_pending_responses()


class FakeBedrock:
    """A thread-safe stand-in client: the embedding encodes which text was sent."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(2, timeout=5)

    def invoke_model(self, **kwargs: Any) -> dict[str, Any]:
        body = json.loads(kwargs["body"])
        with self._lock:
            self.calls.append(body["inputText"])
            self.threads.add(threading.get_ident())
        if len(self.calls) <= 2:
            self._barrier.wait()  # proves two calls were in flight at once
        hot = int(body["inputText"].split()[-1])
        return titan_response(unit_vector(body["dimensions"], hot))


def test_titan_batches_fan_out_and_keep_order() -> None:
    fake = FakeBedrock()
    emb = BedrockTitanEmbedder(fake, MODEL, dimensions=256, max_workers=4)
    texts = [f"text {i}" for i in range(12)]
    vectors = emb.embed(texts)
    assert [v.index(1.0) for v in vectors] == list(range(12))
    assert sorted(fake.calls) == sorted(texts)
    assert len(fake.threads) >= 2


# -- factory ------------------------------------------------------------------------------------------------


def test_factory_builds_each_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    hashing = build_embedder(Settings(embedder="hashing"))
    assert isinstance(hashing, HashingEmbedder)
    assert hashing.dimensions == 256
    assert build_embedder(Settings(embedder="hashing", embedding_dimensions=64)).dimensions == 64
    minilm = build_embedder(Settings(embedder="minilm"))
    assert isinstance(minilm, MiniLMEmbedder)  # lazy: the model is not loaded here
    assert (minilm.model_id, minilm.dimensions) == ("sentence-transformers/all-MiniLM-L6-v2", 384)
    bedrock = build_embedder(Settings(embedder="bedrock", embedding_dimensions=512))
    assert isinstance(bedrock, BedrockTitanEmbedder)
    assert (bedrock.model_id, bedrock.dimensions) == (MODEL, 512)
    retries = bedrock._client.meta.config.retries
    assert retries["total_max_attempts"] == 1  # botocore retries off: the embedder's policy is the only one
