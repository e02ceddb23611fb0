"""AWS::ApiGateway::Account is an account-wide singleton: its own stack, never a stage's."""

from __future__ import annotations

import json

import pytest

from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_no_stage_creates_the_account_setting_or_its_role(synth: Synth) -> None:
    assert not synth.resources("AWS::ApiGateway::Account")
    for role in synth.resources("AWS::IAM::Role").values():
        assert "apigateway.amazonaws.com" not in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])


def test_the_account_stack_holds_exactly_one_retained_setting(synth: Synth) -> None:
    template = json.loads((synth.outdir / "ContextIQ-ApiGatewayAccount.template.json").read_text())
    resources = template["Resources"]
    accounts = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Account"]
    roles = {k: r for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert len(accounts) == 1 and len(roles) == 1
    (role_id, role), account = next(iter(roles.items())), accounts[0]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert account["DeletionPolicy"] == "Retain" and role["DeletionPolicy"] == "Retain"
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert "apigateway.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
