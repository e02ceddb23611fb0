"""Choosing the extractor and decider from the settings: Bedrock in the cloud, heuristics locally."""

from __future__ import annotations

from typing import Any

from contextiq.ai.extractors.base import Decider, Extractor
from contextiq.config import Settings

#: One Converse call may take this long (a 2k-token answer from a small model takes well under it);
#: the worker functions run 60 s, so a stuck call still leaves the job timeout guard time to record it.
CONVERSE_READ_TIMEOUT_SECONDS = 40


def bedrock_runtime_client(settings: Settings) -> Any:
    """A bedrock-runtime client whose own retries are off: BedrockExtractor/Decider use the one retry
    policy of :mod:`contextiq.ai.retry`, bounded by the invocation's remaining time."""
    import boto3

    from contextiq.ai.retry import client_config

    return boto3.client(
        "bedrock-runtime",
        region_name=settings.region,
        config=client_config(read_timeout=CONVERSE_READ_TIMEOUT_SECONDS, connect_timeout=5),
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
