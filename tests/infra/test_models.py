"""No configured Bedrock model is past its end of life (infra/retired_models.py)."""

from __future__ import annotations

import dataclasses

import pytest

from contextiq.config import Settings
from infra.retired_models import RETIRED_MODEL_IDS, RETIRED_MODELS, is_retired
from infra.stages import STAGES, BedrockModel, StageConfig


def configured_models(stage: StageConfig) -> list[BedrockModel]:
    return [stage.embedding_model, stage.extraction_model]


@pytest.mark.parametrize("name", list(STAGES))
def test_no_stage_configures_a_retired_model(name: str) -> None:
    for model in configured_models(STAGES[name]):
        assert model.foundation_model_id not in RETIRED_MODEL_IDS, f"{name}: {model.model_id} is past its EOL"


def test_the_application_defaults_are_not_retired() -> None:
    settings = Settings()
    for model_id in (settings.extraction_model_id, settings.embedding_model_id):
        assert not is_retired(model_id), model_id


def test_the_check_catches_a_retired_id_behind_an_inference_profile() -> None:
    old = BedrockModel("us.anthropic.claude-3-5-haiku-20241022-v1:0", ("us-east-1", "us-west-2"))
    stage = dataclasses.replace(STAGES["dev"], extraction_model=old)
    assert any(m.foundation_model_id in RETIRED_MODEL_IDS for m in configured_models(stage))
    assert is_retired("us.anthropic.claude-3-5-haiku-20241022-v1:0") and is_retired(
        "anthropic.claude-3-5-haiku-20241022-v1:0"
    )


def test_every_stage_extracts_through_a_cross_region_inference_profile() -> None:
    for stage in STAGES.values():
        assert stage.extraction_model.is_inference_profile
        assert len(stage.extraction_model.inference_profile_regions) >= 2


def test_every_retired_entry_names_its_date_and_source() -> None:
    for entry in RETIRED_MODELS:
        assert entry.source.startswith("https://") and len(entry.eol) == 10
        assert not entry.model_id.startswith(("us.", "eu.", "apac.", "global."))
