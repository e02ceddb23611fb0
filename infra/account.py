"""``ContextIQ-ApiGatewayAccount``: the account-level API Gateway logging role, once per account and region.

``AWS::ApiGateway::Account`` is a singleton per account and region: it holds the one IAM role API
Gateway uses to write execution and access logs for *every* REST API there. When each stage stack
created its own (aws-cdk-lib's ``cloud_watch_role=True``), two stages in one account overwrote each
other's setting, and deleting one stage left the other pointing at a deleted role. So the stage stacks
never create it (``cloud_watch_role=False``); this small stack does, deployed once before the first
stage (``make account-setup``). Skip it where the account already has the role (a landing zone).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

STACK_NAME = "ContextIQ-ApiGatewayAccount"
PUSH_TO_CLOUDWATCH = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class ApiGatewayAccountStack(Stack):
    def __init__(self, scope: Construct, **kwargs: Any) -> None:
        super().__init__(
            scope, STACK_NAME, description="API Gateway account settings: the CloudWatch Logs role", **kwargs
        )
        self.role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH)],
            description="API Gateway: push execution and access logs to CloudWatch Logs (account-wide)",
        )
        # RETAIN: deleting the stack must not leave every REST API of the account without a log role.
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.api_gateway_account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.api_gateway_account.apply_removal_policy(RemovalPolicy.RETAIN)
        CfnOutput(self, "CloudWatchRoleArn", value=self.role.role_arn)
