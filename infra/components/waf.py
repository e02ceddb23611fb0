"""AWS WAF on the API stage: AWS managed rule groups and a per-IP rate-based rule, thresholds per stage.

* ``AWSManagedRulesCommonRuleSet`` (OWASP-style common exploits) and
  ``AWSManagedRulesKnownBadInputsRuleSet`` (request patterns known to be malicious, e.g. Log4Shell).
  The common set's ``SizeRestrictions_BODY`` rule blocks bodies over 8 KB; the API accepts larger
  event batches and memories (docs/limits.md) and enforces its own limits, so that one rule is set to
  COUNT rather than block.
* A rate-based rule blocking any client IP above ``waf.rate_limit`` requests per
  ``waf.evaluation_window_seconds`` (AWS WAF: limit >= 10; window 60, 120, 300 or 600 s).

Every rule and the web ACL publish CloudWatch metrics and sampled requests.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.stages import StageConfig

MANAGED_RULE_GROUPS: tuple[str, ...] = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
COUNT_ONLY = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class ApiFirewall(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, api_stage: apigw.Stage) -> None:
        super().__init__(scope, construct_id)
        cfg = stage.waf
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in COUNT_ONLY.get(group, ())
                        ]
                        or None,
                    )
                ),
                visibility_config=_visibility(f"{stage.stack_name}-{group}"),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=cfg.rate_limit,
                        evaluation_window_sec=cfg.evaluation_window_seconds,
                    )
                ),
                visibility_config=_visibility(f"{stage.stack_name}-RatePerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(f"{stage.stack_name}-WebAcl"),
            description=f"ContextIQ {stage.name} API",
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=api_stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
