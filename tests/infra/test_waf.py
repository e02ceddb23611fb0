"""AWS WAF on the API stage: managed rule groups and a per-IP rate-based rule with the stage's threshold."""

from __future__ import annotations

import pytest

from infra.stages import STAGES, WafConfig
from tests.infra.support import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_the_api_stage_has_a_web_acl_with_managed_groups_and_a_rate_rule(synth: Synth) -> None:
    ((acl_id, acl),) = synth.resources("AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement["VendorName"] == "AWS" and statement["Name"] == group
        assert rules[group]["OverrideAction"] == {"None": {}}  # the group's own block actions apply
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    rate = rules["RatePerIp"]
    cfg = STAGES[synth.stage].waf
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": cfg.rate_limit,
        "EvaluationWindowSec": cfg.evaluation_window_seconds,
    }
    assert len({r["Priority"] for r in props["Rules"]}) == len(props["Rules"])
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in props["Rules"])
    ((_, association),) = synth.resources("AWS::WAFv2::WebACLAssociation").items()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert "/stages/" in str(association["Properties"]["ResourceArn"])


def test_thresholds_differ_per_stage_and_are_validated() -> None:
    assert STAGES["dev"].waf.rate_limit < STAGES["staging"].waf.rate_limit < STAGES["prod"].waf.rate_limit
    with pytest.raises(ValueError, match="at least 10"):
        WafConfig(rate_limit=5)
    with pytest.raises(ValueError, match="60, 120, 300 or 600"):
        WafConfig(evaluation_window_seconds=30)
