"""Session fixtures for the infrastructure tests.

``synthesized`` builds the deps layer once (scripts/build_layers.py skips the work when its stamp
matches), then synthesizes every stage once, in-process, with cdk-nag on; all template tests share it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.support import STAGE_NAMES, Synth, synth_stage


@pytest.fixture(scope="session")
def deps_layer() -> Path:
    from scripts.build_layers import TARGET, build

    build()
    return TARGET


@pytest.fixture(scope="session")
def synthesized(deps_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    tmp = tmp_path_factory.mktemp("cdk")
    return {stage: synth_stage(stage, tmp) for stage in STAGE_NAMES}


@pytest.fixture(scope="session")
def private_stage(deps_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """prod's shape with every stage option on (JWT issuer, VPC placement): one extra synthesis."""
    from tests.infra.support import private_stage_config

    return synth_stage("private", tmp_path_factory.mktemp("cdk-private"), private_stage_config())


@pytest.fixture(params=STAGE_NAMES)
def synth(request: pytest.FixtureRequest, synthesized: dict[str, Synth]) -> Synth:
    return synthesized[request.param]


@pytest.fixture(scope="session")
def sam_local_template(deps_layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dev's `sam local invoke` variant for this machine's architecture (scripts/sam_template.py)."""
    from scripts.build_layers import build_local
    from scripts.sam_template import synth

    build_local()  # the core layer is the session's (deps_layer): rebuilding it could race test_layers.py
    return synth("dev", tmp_path_factory.mktemp("cdk-sam"), build=False)
