"""scripts/sam_env.py: overrides only what the sam-local template declares, never real AWS endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.sam_env import SERVICE_ENDPOINTS, NotLocalInvokeTemplateError, env_vars, local_values
from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}


def _declared(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource["Properties"]["Environment"]["Variables"])


@pytest.fixture
def local_stack_state(tmp_path: Path) -> Path:
    """A local.json as `contextiq local --moto-host 0.0.0.0` writes it, with its page-token key."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "page-token.key").write_text("the-local-key\n")
    queue = "http://127.0.0.1:47111/123456789012/contextiq-local-ExtractionQueue"
    state = {
        "env": {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:47111",
            "CONTEXTIQ_DATA_DIR": str(data_dir),
            "CONTEXTIQ_EXTRACTION_QUEUE_URL": queue,
        }
    }
    path = tmp_path / "local.json"
    path.write_text(json.dumps(state))
    return path


def test_overrides_only_declared_variables(sam_local_template: Path, local_stack_state: Path) -> None:
    template = json.loads(sam_local_template.read_text())
    out = env_vars(template, local_values(local_stack_state))
    assert set(out) == set(_functions(template))
    for logical_id, resource in _functions(template).items():
        declared, overrides = _declared(resource), out[logical_id]
        assert set(overrides) <= set(declared), (logical_id, set(overrides) - set(declared))
        for name in SERVICE_ENDPOINTS:  # the running stack's moto, through the container's host name
            assert overrides[name] == "http://host.docker.internal:47111", (logical_id, name)
        assert "AWS_ENDPOINT_URL" not in declared  # Bedrock, when enabled, stays on AWS
        assert overrides["CONTEXTIQ_PAGE_TOKEN_KEY"] == "the-local-key"
        for name, value in declared.items():  # every stack reference is replaced by a local value
            if not isinstance(value, str):
                assert name in overrides, (logical_id, name)
                if name.endswith("_TABLE"):
                    assert overrides[name].startswith("contextiq-local-"), (logical_id, name)
        assert overrides.get("CONTEXTIQ_PAGE_TOKEN_SECRET_ARN", "") == ""
        assert "CONTEXTIQ_EMBEDDER" not in overrides  # the template's local default (hashing) stays
    jobs = next(v for k, v in out.items() if k.startswith("ApiJobs"))
    assert jobs["CONTEXTIQ_EXTRACTION_QUEUE_URL"] == (
        "http://host.docker.internal:47111/123456789012/contextiq-local-ExtractionQueue"
    )


def test_bedrock_mode_switches_the_two_models_and_keeps_data_local(
    sam_local_template: Path, local_stack_state: Path
) -> None:
    template = json.loads(sam_local_template.read_text())
    out = env_vars(template, local_values(local_stack_state), bedrock=True)
    memories = next(k for k in out if k.startswith("ApiMemories"))
    assert out[memories]["CONTEXTIQ_EMBEDDER"] == "bedrock"
    assert out[memories]["CONTEXTIQ_EXTRACTOR"] == "bedrock"
    assert out[memories]["AWS_ENDPOINT_URL_DYNAMODB"].startswith("http://host.docker.internal:")
    declared = _declared(template["Resources"][memories])
    assert declared["CONTEXTIQ_EMBEDDING_MODEL_ID"] == "amazon.titan-embed-text-v2:0"  # from the stage


def test_refuses_the_deployable_template(synthesized: dict[str, Synth], tmp_path: Path) -> None:
    with pytest.raises(NotLocalInvokeTemplateError, match=r"sam_template\.py"):
        env_vars(synthesized["dev"].template, local_values(tmp_path / "none.json"))
