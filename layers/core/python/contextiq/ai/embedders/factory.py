"""Build the configured embedder from ``Settings``.

Imports are lazy: the Lambda layer has no numpy/torch, so ``minilm`` must never be imported there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextiq.ai.embedders.base import Embedder

if TYPE_CHECKING:
    from contextiq.config import Settings

HASHING_DEFAULT_DIMENSIONS = 256


#: One Titan embedding call answers in well under a second; 10 s means something is wrong, and leaves
#: a 29 s API function time to retry once and still answer.
EMBED_READ_TIMEOUT_SECONDS = 10


def bedrock_runtime_client(region: str) -> object:
    """A ``bedrock-runtime`` client with botocore's retries off: ``BedrockTitanEmbedder`` applies the
    one retry policy (:mod:`contextiq.ai.retry`), bounded by the invocation's remaining time."""
    import boto3

    from contextiq.ai.retry import client_config

    config = client_config(read_timeout=EMBED_READ_TIMEOUT_SECONDS, connect_timeout=3, max_pool_connections=16)
    return boto3.client("bedrock-runtime", region_name=region, config=config)


def build_embedder(settings: Settings) -> Embedder:
    """``settings.embedder``: "bedrock" (Titan V2, cloud), "minilm" (local), "hashing" (tests)."""
    kind = settings.embedder
    if kind == "bedrock":
        from contextiq.ai.embedders.bedrock import BedrockTitanEmbedder

        return BedrockTitanEmbedder(
            bedrock_runtime_client(settings.region),
            model_id=settings.embedding_model_id,
            dimensions=settings.embedding_dimensions,
        )
    if kind == "minilm":
        from contextiq.ai.embedders.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    if kind == "hashing":
        from contextiq.ai.embedders.hashing import HashingEmbedder

        # embedding_dimensions defaults to Titan's 1024; only honour it when it was set explicitly.
        explicit = "embedding_dimensions" in settings.model_fields_set
        return HashingEmbedder(settings.embedding_dimensions if explicit else HASHING_DEFAULT_DIMENSIONS)
    raise ValueError(f"unknown embedder {kind!r} (expected bedrock, minilm or hashing)")
