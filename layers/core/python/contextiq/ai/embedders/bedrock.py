"""Amazon Titan Text Embeddings V2 on Bedrock (``bedrock-runtime`` ``InvokeModel``).

Request body (Titan V2): ``{"inputText": str, "dimensions": 256|512|1024, "normalize": bool}``;
response body: ``{"embedding": [float, ...], "inputTextTokenCount": int, ...}``. Titan V2 embeds one
text per call, so batches fan out over a small thread pool (boto3 clients are thread-safe).

Throttling and transient faults are retried by the one shared policy (:mod:`contextiq.ai.retry`: full
jitter, at most ``max_attempts`` calls, never past the time left in the Lambda invocation). The client
``factory.build_embedder`` builds has botocore's own retries off, so attempts never multiply.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from contextiq.ai import retry

DEFAULT_MODEL_ID = "amazon.titan-embed-text-v2:0"
TITAN_V2_DIMENSIONS = (256, 512, 1024)
# Titan V2 accepts up to 8,192 tokens / 50,000 characters per text.
MAX_INPUT_CHARS = 50_000

RETRYABLE_ERROR_CODES = retry.RETRYABLE_ERROR_CODES


class EmbeddingError(RuntimeError):
    """Bedrock failed permanently or answered with something that is not a usable embedding."""


class BedrockTitanEmbedder:
    """Titan Text Embeddings V2 through ``InvokeModel``; outputs are L2-normalised client-side too."""

    def __init__(
        self,
        client: Any,
        model_id: str = DEFAULT_MODEL_ID,
        dimensions: int = 1024,
        normalize: bool = True,
        *,
        max_workers: int = 4,
        max_attempts: int = 3,
        base_delay: float = 0.25,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if model_id.startswith("amazon.titan-embed-text-v2") and dimensions not in TITAN_V2_DIMENSIONS:
            raise ValueError(f"Titan Text Embeddings V2 supports dimensions {TITAN_V2_DIMENSIONS}, not {dimensions}")
        self._client = client
        self._model_id = model_id
        self._dimensions = dimensions
        self._normalize = normalize
        self._max_workers = max(1, max_workers)
        self._policy = retry.RetryPolicy(
            max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay, attempt_seconds=1.0
        )
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) <= 1 or self._max_workers == 1:
            return [self._embed_one(t) for t in texts]
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(texts))) as pool:
            return list(pool.map(self._embed_one, texts))

    def embed_query(self, text: str) -> list[float]:
        return self._embed_one(text)

    # -- internals ---------------------------------------------------------------------------------

    def _body(self, text: str) -> str:
        if not text or not text.strip():
            raise ValueError("cannot embed an empty text (Titan rejects empty inputText)")
        return json.dumps(
            {
                "inputText": text[:MAX_INPUT_CHARS],
                "dimensions": self._dimensions,
                "normalize": self._normalize,
            }
        )

    def _embed_one(self, text: str) -> list[float]:
        body = self._body(text)

        def invoke() -> Any:
            return self._client.invoke_model(
                modelId=self._model_id, body=body, contentType="application/json", accept="application/json"
            )

        what = f"Bedrock InvokeModel on {self._model_id}"
        try:
            response = retry.call_with_retries(invoke, policy=self._policy, what=what, sleep=self._sleep, rng=self._rng)
        except retry.RetriesExhaustedError as exc:
            raise EmbeddingError(
                f"Bedrock InvokeModel failed for {self._model_id} after {exc.attempts} attempt(s): {exc.code}: {exc}"
            ) from exc
        except ClientError as exc:
            code = retry.error_code(exc)
            message = exc.response.get("Error", {}).get("Message", str(exc))
            raise EmbeddingError(
                f"Bedrock InvokeModel failed for {self._model_id} after 1 attempt(s): {code or 'error'}: {message}"
            ) from exc
        return self._parse(response)

    def _parse(self, response: Any) -> list[float]:
        try:
            raw = response["body"].read()
            payload = json.loads(raw)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise EmbeddingError(f"{self._model_id} returned an unreadable response body: {exc}") from exc
        embedding = payload.get("embedding") if isinstance(payload, dict) else None
        if not isinstance(embedding, list) or not embedding:
            keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
            raise EmbeddingError(f"{self._model_id} response has no 'embedding' array (got {keys})")
        if len(embedding) != self._dimensions:
            raise EmbeddingError(f"{self._model_id} returned {len(embedding)} dimensions, expected {self._dimensions}")
        try:
            vec = [float(x) for x in embedding]
        except (TypeError, ValueError) as exc:
            raise EmbeddingError(f"{self._model_id} returned a non-numeric embedding") from exc
        norm = math.sqrt(sum(v * v for v in vec))
        if not math.isfinite(norm) or norm == 0.0:
            raise EmbeddingError(f"{self._model_id} returned a zero or non-finite embedding")
        return [v / norm for v in vec]
