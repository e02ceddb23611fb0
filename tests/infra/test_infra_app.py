"""The app entry point, the stage configs and the layer build (no full synth here except one small one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stages import (
    STAGES,
    BedrockModel,
    FunctionConfig,
    QueueWorkerConfig,
    SearchConfig,
    UnknownStageError,
    get_stage,
)
from scripts import build_layers
from tests.infra.support import ROOT, cdk_context


def run_app(args: list[str], context: dict[str, object]) -> subprocess.CompletedProcess[str]:
    python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(
        os.environ,
        CDK_CONTEXT_JSON=json.dumps(context),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONPATH=python_path,
    )
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("name", ["qa", "", None, "Prod"])
def test_unknown_stage_lists_the_valid_ones(name: str | None) -> None:
    with pytest.raises(UnknownStageError) as error:
        get_stage(name)
    assert "dev, staging, prod" in str(error.value)


@pytest.mark.infra
def test_app_exits_with_a_clear_message_for_an_unknown_stage() -> None:
    result = run_app(["-m", "infra.app"], {"stage": "qa"})
    assert result.returncode != 0
    assert "Unknown stage 'qa': valid stages are dev, staging, prod" in result.stderr


@pytest.mark.infra
def test_app_runs_as_a_script_too_and_requires_a_stage() -> None:
    # ``python infra/app.py`` puts infra/ first on sys.path: nothing there may shadow a library the app
    # imports (it used to hold ``constructs/``), and app.py edits no sys.path.
    assert "sys.path" not in (ROOT / "infra" / "app.py").read_text()
    result = run_app(["infra/app.py"], {})
    assert result.returncode != 0
    assert "No stage given: pass -c stage=<dev|staging|prod>" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_infra_module_shadows_a_library_the_infra_code_imports() -> None:
    infra = ROOT / "infra"
    local_names = {p.stem for p in infra.glob("*.py")} | {p.name for p in infra.iterdir() if p.is_dir()}
    imported = set()
    for source in infra.rglob("*.py"):
        for line in source.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in {"import", "from"}:
                imported.add(words[1].split(".")[0])
    third_party = imported - local_names - set(sys.stdlib_module_names) - {"infra", "contextiq", "__future__"}
    assert {"constructs", "aws_cdk", "cdk_nag"} <= third_party
    assert not local_names & third_party


def test_stage_configs_are_consistent() -> None:
    assert set(STAGES) == {"dev", "staging", "prod"}
    for name, stage in STAGES.items():
        assert stage.name == name
        assert stage.stack_name == f"ContextIQ-{name}"
        assert stage.embedding_model.model_id == "amazon.titan-embed-text-v2:0"
        assert stage.embedding_dimensions == 1024
        assert "anthropic.claude" in stage.extraction_model.model_id
        assert 3 <= len(stage.domain_name) <= 28
    assert STAGES["prod"].retain_data and not STAGES["dev"].retain_data
    assert STAGES["prod"].point_in_time_recovery
    with pytest.raises(TypeError):
        STAGES["dev"].functions["sessions"] = FunctionConfig(memory_mb=128, timeout_seconds=3)  # type: ignore[index]


def test_stage_config_validation() -> None:
    with pytest.raises(ValueError, match="memory_mb"):
        FunctionConfig(memory_mb=64, timeout_seconds=3)
    with pytest.raises(ValueError, match="max_concurrency"):
        QueueWorkerConfig(batch_size=1, max_concurrency=1)
    with pytest.raises(ValueError, match="multiple"):
        SearchConfig(instance_type="t3.small.search", instance_count=3, volume_size_gb=10, availability_zone_count=2)
    with pytest.raises(ValueError, match="inference profile"):
        BedrockModel("us.anthropic.claude-haiku-4-5-20251001-v1:0")
    profile = BedrockModel("us.anthropic.claude-haiku-4-5-20251001-v1:0", ("us-east-1", "us-west-2"))
    assert profile.is_inference_profile
    assert profile.foundation_model_id == "anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.mark.infra
def test_alarm_email_subscribes_to_the_topic(deps_layer: Path, tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    from infra.app import build_app

    context = cdk_context("dev") | {"alarm_email": "oncall@example.com"}
    app = build_app(context, outdir=str(tmp_path), nag=False)
    stack = app.node.find_child("ContextIQ-dev")
    Template.from_stack(stack).has_resource_properties(  # type: ignore[arg-type]
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_inference_profile_grants_name_each_region() -> None:
    from aws_cdk import App, Stack

    from infra.components.functions import bedrock_model_arns

    stack = Stack(App(), "S", env={"account": "111122223333", "region": "us-east-1"})
    model = BedrockModel("us.anthropic.claude-haiku-4-5-20251001-v1:0", ("us-east-1", "us-west-2"))
    arns = [stack.resolve(arn) for arn in bedrock_model_arns(stack, model)]
    text = json.dumps(arns)
    assert "inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0" in text
    assert text.count("foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0") == 2
    assert "*" not in text


# -- scripts/build_layers.py -------------------------------------------------------------------------


def test_layer_requirements_come_from_pyproject() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert build_layers.requirements() == sorted(declared)


def test_layer_build_is_skipped_when_the_stamp_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reqs = ["a==1", "b==2"]
    digest = build_layers.fingerprint(reqs)
    assert digest == build_layers.fingerprint(list(reqs))
    assert digest != build_layers.fingerprint(["a==1", "b==3"])
    assert not build_layers.is_current(digest, tmp_path)

    def fake_pip(cmd: list[str], **kwargs: object) -> None:
        target = Path(cmd[cmd.index("--target") + 1])
        (target / "a").mkdir()
        (target / "a" / "__init__.py").write_text("")
        (target / "bin").mkdir()  # pruned

    calls: list[list[str]] = []
    monkeypatch.setattr(build_layers.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or fake_pip(cmd))
    assert build_layers.build(build_dir=tmp_path, reqs=reqs) is True
    assert (tmp_path / "deps" / "python" / "a" / "__init__.py").exists()
    assert not (tmp_path / "deps" / "python" / "bin").exists()
    assert build_layers.is_current(digest, tmp_path)
    assert build_layers.build(build_dir=tmp_path, reqs=reqs) is False  # stamp matches: skipped
    assert len(calls) == 1
    assert build_layers.build(force=True, build_dir=tmp_path, reqs=reqs) is True
    assert len(calls) == 2
    assert build_layers.build(build_dir=tmp_path, reqs=[*reqs, "c==3"]) is True  # requirements changed
    assert len(calls) == 3


def test_pip_command_targets_lambda_arm64_python312() -> None:
    cmd = build_layers.pip_command(["pydantic==2.14.3"], Path("/tmp/x"))
    text = " ".join(cmd)
    assert "--platform manylinux2014_aarch64" in text
    assert "--implementation cp" in text and "--python-version 3.12" in text
    assert "--only-binary=:all:" in cmd and "--target" in cmd
    assert cmd[-1] == "pydantic==2.14.3"


@pytest.mark.infra
def test_synth_with_an_explicit_environment_passes_cdk_nag(deps_layer: Path, tmp_path: Path) -> None:
    """-c account=... -c region=...: literal partition/region in ARNs must not break the acknowledgements."""
    from infra.app import build_app

    context = cdk_context("prod") | {"account": "111122223333", "region": "eu-west-1"}
    app = build_app(context, outdir=str(tmp_path), nag=True)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag error
    stack = assembly.get_stack_by_name("ContextIQ-prod")
    assert stack.environment.account == "111122223333" and stack.environment.region == "eu-west-1"
    report = tmp_path / "validation-report.json"
    assert not report.exists() or json.loads(report.read_text())["pluginReports"] == []
