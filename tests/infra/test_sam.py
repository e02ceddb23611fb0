"""The SAM CLI on the templates (docs/infrastructure.md, "SAM local"): `sam validate --lint` on every stage's
template and on the sam-local variant, `sam build` of the variant (no Docker needed for either), and the
variant's shape. `make test` installs the SAM CLI into .venv-sam (its own pins, apart from ours)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.local_invoke import SERVICE_ENDPOINT_VARIABLES
from infra.nag import CFN_LINT_IGNORES
from scripts.build_layers import host_architecture
from tests.infra.support import ROOT, STAGE_NAMES, Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

SAM = ROOT / ".venv-sam" / "bin" / "sam"


def _sam_env() -> dict[str, str]:
    # No telemetry; a region for cfn-lint; no AWS credentials needed by either command.
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "SAM_CLI_TELEMETRY": "0"}


@pytest.fixture(scope="module")
def sam() -> Path:
    if not SAM.exists():
        pytest.fail(f"{SAM} is missing: `make sam-cli` installs the SAM CLI (`make test` does it first)")
    return SAM


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}


def test_sam_validate_lint_passes_on_every_stage_and_the_local_variant(
    sam: Path, synthesized: dict[str, Synth], sam_local_template: Path
) -> None:
    """cfn-lint (pinned like ours) through the SAM CLI, with only the ignores each template carries."""
    templates = [synthesized[stage].template_path for stage in STAGE_NAMES] + [sam_local_template]
    for path in templates:
        metadata = json.loads(path.read_text())["Metadata"]
        assert metadata["cfn-lint"] == {"config": {"ignore_checks": sorted(CFN_LINT_IGNORES)}}, path.name
    runs = [  # in parallel: each is a SAM CLI start plus cfn-lint
        subprocess.Popen(
            [str(sam), "validate", "--lint", "--region", "us-east-1", "-t", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_sam_env(),
        )
        for path in templates
    ]
    for path, run in zip(templates, runs, strict=True):
        output, _ = run.communicate(timeout=240)
        assert run.returncode == 0, (path.name, output)
        assert "is a valid SAM Template" in output, output


def test_sam_build_succeeds_without_docker(sam: Path, sam_local_template: Path, tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    run = subprocess.run(
        [str(sam), "build", "-t", str(sam_local_template), "--build-dir", str(build_dir)],
        capture_output=True,
        text=True,
        env=_sam_env(),
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    template = json.loads(sam_local_template.read_text())
    for logical_id in _functions(template):  # every function's code, built from its asset path
        assert (build_dir / logical_id / "handler.py").is_file(), logical_id
    assert (build_dir / "template.yaml").is_file()


def test_local_variant_runs_natively_with_the_local_layer(sam_local_template: Path) -> None:
    template = json.loads(sam_local_template.read_text())
    arch = host_architecture()
    assert template["Metadata"]["ContextIQ::LocalInvoke"]["Architecture"] == arch
    layers = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::LayerVersion"}
    paths = {Path(v["Metadata"]["aws:asset:path"]).name for v in layers.values()}
    assert paths == {"core", f"local-{arch}"}
    local_layer = next(Path(v["Metadata"]["aws:asset:path"]) for v in layers.values())
    local_layer = local_layer.parent / f"local-{arch}" / "python"
    for package in ("numpy", "jwt", "boto3", "pydantic"):  # embedded index, authorizer, the rest
        assert (local_layer / package).is_dir(), package
    functions = _functions(template)
    assert len(functions) == 16  # the generation policy function is the 16th
    for logical_id, resource in functions.items():
        props = resource["Properties"]
        assert props["Architectures"] == [arch], logical_id
        assert len(props["Layers"]) == 2, logical_id
        assert "aws:asset:path" in resource["Metadata"], logical_id  # what SAM reads for CDK templates
        variables = props["Environment"]["Variables"]
        for name in SERVICE_ENDPOINT_VARIABLES:
            assert variables[name].startswith("http://host.docker.internal:"), (logical_id, name)
        assert "AWS_ENDPOINT_URL" not in variables
        assert variables["CONTEXTIQ_VECTOR_INDEX"] == "embedded"
        assert variables["CONTEXTIQ_EMBEDDER"] == "hashing"
        assert variables["CONTEXTIQ_DATA_DIR"].startswith("/tmp/")


def test_deployable_templates_declare_no_local_endpoint(synthesized: dict[str, Synth]) -> None:
    for stage, synth in synthesized.items():
        assert "ContextIQ::LocalInvoke" not in synth.template["Metadata"], stage
        for logical_id, resource in _functions(synth.template).items():
            variables = resource["Properties"]["Environment"]["Variables"]
            assert not any(name.startswith("AWS_ENDPOINT_URL") for name in variables), (stage, logical_id)
            assert resource["Properties"]["Architectures"] == ["arm64"], (stage, logical_id)


def test_local_layer_recipe_is_deps_auth_and_numpy_for_the_chosen_architecture() -> None:
    from scripts import build_layers

    reqs = build_layers.local_requirements()
    assert set(build_layers.requirements()) <= set(reqs)
    assert set(build_layers.requirements(extra="auth")) <= set(reqs)
    numpy = [r for r in reqs if r.startswith("numpy")]
    assert numpy and numpy[0] in build_layers.requirements(extra="local")  # the local extra's pin
    assert build_layers.platforms("x86_64") == (
        "manylinux2014_x86_64",
        "manylinux_2_28_x86_64",
        "manylinux_2_34_x86_64",
    )
    assert build_layers.platforms("arm64") == build_layers.PLATFORMS  # the deployable layers are unchanged
    command = build_layers.pip_command(reqs, Path("/t"), build_layers.platforms("x86_64"))
    assert "manylinux_2_34_x86_64" in command and "manylinux2014_aarch64" not in command
    assert build_layers.fingerprint(reqs, build_layers.platforms("x86_64")) != build_layers.fingerprint(reqs)
