"""Choosing the extractor and decider from the settings: Bedrock in the cloud, heuristics locally."""

from __future__ import annotations

from typing import Any

from contextiq.ai.extractors.base import Decider, Extractor
from contextiq.config import Settings


def bedrock_runtime_client(settings: Settings) -> Any:
    """A bedrock-runtime client whose own retries are off: BedrockExtractor/Decider retry with backoff."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "bedrock-runtime",
        region_name=settings.region,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=120, connect_timeout=10),
    )


def build_extractor(settings: Settings, client: Any = None) -> Extractor:
    """``settings.extractor``: "local" -> HeuristicExtractor; "bedrock" -> BedrockExtractor on
    ``settings.extraction_model_id`` (with ``client``, or a new bedrock-runtime client for
    ``settings.region``)."""
    # imported on use: a cloud function never loads the heuristic rule table, a local one never botocore's
    if settings.extractor == "local":
        from contextiq.ai.extractors.heuristic import HeuristicExtractor

        return HeuristicExtractor()
    if settings.extractor == "bedrock":
        from contextiq.ai.extractors.bedrock import BedrockExtractor

        return BedrockExtractor(client or bedrock_runtime_client(settings), settings.extraction_model_id)
    raise ValueError(f"unknown extractor {settings.extractor!r}; expected 'bedrock' or 'local'")


def build_decider(settings: Settings, client: Any = None) -> Decider:
    """Same choice as :func:`build_extractor`, for consolidation decisions."""
    if settings.extractor == "local":
        from contextiq.ai.extractors.heuristic import HeuristicDecider

        return HeuristicDecider()
    if settings.extractor == "bedrock":
        from contextiq.ai.extractors.bedrock import BedrockDecider

        return BedrockDecider(client or bedrock_runtime_client(settings), settings.extraction_model_id)
    raise ValueError(f"unknown extractor {settings.extractor!r}; expected 'bedrock' or 'local'")
