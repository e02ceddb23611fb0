"""Helpers for the infrastructure tests: synthesize a stage in-process and collect what to check.

Each stage is synthesized once per session (see conftest.py) with cdk-nag on; the cloud assembly and
the template land in a temporary directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

STAGE_NAMES = ("dev", "staging", "prod")


@dataclass
class Synth:
    stage: str
    template: dict[str, Any]
    template_path: Path
    outdir: Path
    nag_error: str | None  # the exception synth raised with cdk-nag on, if any
    nag_violations: list[dict[str, Any]]
    acknowledgements: list[tuple[str, str, str]] = field(default_factory=list)  # (path, rule, reason)

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}


def cdk_context(stage: str) -> dict[str, Any]:
    context = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    context["stage"] = stage
    # Reference assets in place instead of copying the ~60 MB deps layer into every assembly.
    context["aws:cdk:disable-asset-staging"] = True
    return context


def _violations(outdir: Path) -> list[dict[str, Any]]:
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    found = []
    for plugin in json.loads(report.read_text()).get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                found.append(
                    {
                        "rule": violation["ruleName"],
                        "severity": violation.get("severity"),
                        "path": construct.get("constructPath"),
                    }
                )
    return found


def _acknowledgements(app: Any) -> list[tuple[str, str, str]]:
    from aws_cdk import Validations

    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for node in app.node.find_all():
        for entry in node.node.metadata:
            if entry.type == key:
                for rule, reason in dict(entry.data).items():
                    found.append((node.node.path, rule, reason))
    return found


def synth_stage(stage: str, tmp: Path, config: Any = None) -> Synth:
    """Synthesize the named stage, or ``config`` (a ``StageConfig`` named ``stage``) when given."""
    from infra.app import build_app

    outdir = tmp / stage
    app = build_app(cdk_context(stage), outdir=str(outdir), nag=True, stage=config)
    nag_error = None
    try:
        assembly = app.synth()
    except Exception as error:  # cdk-nag errors fail synthesis: keep going without it to test the rest
        nag_error = str(error)
        app = build_app(cdk_context(stage), outdir=str(tmp / f"{stage}-no-nag"), nag=False, stage=config)
        assembly = app.synth()
    stack = assembly.get_stack_by_name(f"ContextIQ-{stage}")
    template = stack.template
    path = tmp / f"ContextIQ-{stage}.template.json"
    path.write_text(json.dumps(template, indent=1))
    return Synth(
        stage=stage,
        template=template,
        template_path=path,
        outdir=outdir,
        nag_error=nag_error,
        nag_violations=_violations(outdir),
        acknowledgements=_acknowledgements(app),
    )


JWT_CLIENT_ID = "app-client-1"


def private_stage_config() -> Any:
    """``prod`` with every stage option on, a Cognito issuer and VPC placement (named ``private``)."""
    from dataclasses import replace

    from infra.stages import STAGES, JwtAuthConfig, NetworkConfig

    jwt = JwtAuthConfig.cognito("us-east-1", "us-east-1_TestPool", (JWT_CLIENT_ID,), role_claim="cognito:groups")
    return replace(STAGES["prod"], name="private", jwt=jwt, network=NetworkConfig())
