"""Choosing the distiller from the settings: Bedrock in the cloud, the deterministic rules locally."""

from __future__ import annotations

from typing import Any

from contextiq.ai.distillers.base import Distiller
from contextiq.config import Settings


def build_distiller(settings: Settings, client: Any = None) -> Distiller:
    """``settings.extractor`` chooses, as for extraction: "local" -> LocalDistiller, "bedrock" ->
    BedrockDistiller on ``settings.extraction_model_id``."""
    if settings.extractor == "local":
        from contextiq.ai.distillers.local import LocalDistiller

        return LocalDistiller()
    if settings.extractor == "bedrock":
        from contextiq.ai.distillers.bedrock import BedrockDistiller
        from contextiq.ai.extractors.factory import bedrock_runtime_client

        return BedrockDistiller(client or bedrock_runtime_client(settings), settings.extraction_model_id)
    raise ValueError(f"unknown extractor {settings.extractor!r}; expected 'bedrock' or 'local'")
