"""CDK entry point: ``npx -y aws-cdk@2 synth -c stage=dev`` (cdk.json runs ``python -m infra.app``).

Synthesis needs no AWS credentials: the stack is environment-agnostic unless ``-c account=...`` and
``-c region=...`` are given. cdk-nag's AwsSolutions pack runs on every synth; an unacknowledged
finding fails it.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.account import ApiGatewayAccountStack
from infra.local_invoke import LocalInvokeConfig
from infra.nag import acknowledge_account_findings
from infra.stack import ContextIQStack
from infra.stages import StageConfig, UnknownStageError, get_stage


def environment(app: App) -> Environment | None:
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    if account is None and region is None:
        return None  # environment-agnostic: resolved at deploy time
    return Environment(account=account, region=region)


def build_app(
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
    nag: bool = True,
    stage: StageConfig | None = None,
) -> App:
    """Create the app and the stage's stack. ``context`` mirrors ``-c key=value`` (``stage`` required
    unless a ``StageConfig`` is given, as the tests do for stage shapes no named stage has)."""
    app = App(context=context, outdir=outdir)
    stage = stage or get_stage(app.node.try_get_context("stage"))
    local_invoke = app.node.try_get_context("local_invoke")  # x86_64 | arm64: scripts/sam_template.py
    if local_invoke:
        stage = replace(stage, local_invoke=LocalInvokeConfig(architecture=local_invoke))
    ContextIQStack(
        app,
        stage=stage,
        alarm_email=app.node.try_get_context("alarm_email"),
        env=environment(app),
    )
    # Deployed once per account/region (`cdk deploy ContextIQ-ApiGatewayAccount`), never with a stage.
    acknowledge_account_findings(ApiGatewayAccountStack(app, env=environment(app)))
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> None:
    try:
        app = build_app()
    except UnknownStageError as error:
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
