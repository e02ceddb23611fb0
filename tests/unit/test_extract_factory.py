"""build_extractor / build_decider choose the provider from the settings."""

from __future__ import annotations

import boto3
import pytest

from contextiq.ai.extractors.bedrock import BedrockDecider, BedrockExtractor
from contextiq.ai.extractors.factory import build_decider, build_extractor
from contextiq.ai.extractors.heuristic import HeuristicDecider, HeuristicExtractor
from contextiq.config import Settings


def test_local_is_heuristic() -> None:
    settings = Settings(extractor="local")
    assert isinstance(build_extractor(settings), HeuristicExtractor)
    assert isinstance(build_decider(settings), HeuristicDecider)


def test_bedrock_uses_the_model_and_the_client() -> None:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    settings = Settings(extractor="bedrock", extraction_model_id="amazon.nova-lite-v1:0")
    extractor = build_extractor(settings, client)
    decider = build_decider(settings, client)
    assert isinstance(extractor, BedrockExtractor)
    assert isinstance(decider, BedrockDecider)
    assert extractor.model_id == decider.model_id == "amazon.nova-lite-v1:0"
    assert extractor._caller.client is client


def test_bedrock_builds_its_own_client_without_retries() -> None:
    extractor = build_extractor(Settings(extractor="bedrock", AWS_REGION="eu-west-1"))
    assert isinstance(extractor, BedrockExtractor)
    client = extractor._caller.client
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_unknown_provider() -> None:
    settings = Settings(extractor="local").model_copy(update={"extractor": "gpt"})
    with pytest.raises(ValueError, match="unknown extractor 'gpt'"):
        build_extractor(settings)
    with pytest.raises(ValueError, match="unknown extractor 'gpt'"):
        build_decider(settings)


def test_bedrock_never_loads_the_heuristic_rules() -> None:
    """The cloud functions run on Bedrock: building its extractor and decider leaves the local rule table
    unimported (a fresh interpreter, so other tests' imports do not count)."""
    import subprocess
    import sys

    code = (
        "import sys, boto3\n"
        "from contextiq.ai.extractors.factory import build_decider, build_extractor\n"
        "from contextiq.config import Settings\n"
        "c = boto3.client('bedrock-runtime', region_name='us-east-1')\n"
        "s = Settings(extractor='bedrock')\n"
        "build_extractor(s, c); build_decider(s, c)\n"
        "print(sorted(m for m in sys.modules if m.startswith('contextiq.ai.extractors.heuristic')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
