"""VPC placement (a stage option, ``StageConfig.network``): isolated subnets, security groups, endpoints.

Built only when the stage asks for it. The VPC has isolated private subnets alone: no internet gateway,
no NAT gateway, so nothing in it reaches the internet. The functions placed in it (every one but the
authorizer, which fetches an issuer's JWKS from the internet) reach AWS through VPC endpoints:
DynamoDB (gateway) and SQS, Bedrock runtime, Secrets Manager and X-Ray (interface, private DNS on).
Stream and queue event sources are polled by the Lambda service, outside the VPC, and function logs
go through Lambda's own log delivery, so neither needs an endpoint.

Security groups: the functions may only open HTTPS (443) connections; the interface endpoints and the
OpenSearch domain accept 443 from the functions' group alone.
"""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.access import INTERFACE_ENDPOINTS, NetworkConfig
from infra.components.functions import ContextIQFunction, log_retention, removal_policy
from infra.stages import StageConfig

_ENDPOINT_SERVICES = {
    "sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "bedrock-runtime": ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "xray": ec2.InterfaceVpcEndpointAwsService.XRAY,
}

# What a function needs to attach its network interfaces (the actions of the AWS-managed
# AWSLambdaVPCAccessExecutionRole, inline); EC2 does not scope Describe* to resources.
ENI_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
HTTPS = ec2.Port.tcp(443)


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, config: NetworkConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.cidr),
            # An environment-agnostic stack only knows two AZs by name: select the region's first ones.
            availability_zones=[Fn.select(i, Fn.get_azs()) for i in range(config.max_azs)],
            nat_gateways=0,
            create_internet_gateway=False,
            # True would add a custom-resource Lambda; the default group is simply never used here.
            restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)
            ],
        )
        self.flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(config.flow_log_retention_days),
            removal_policy=removal_policy(stage),
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs))
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.functions_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="ContextIQ functions: HTTPS out only (to the VPC endpoints and the OpenSearch domain)",
            allow_all_outbound=False,
        )
        self.functions_group.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS, "HTTPS to AWS endpoints")
        self.endpoints_group = self._https_from_functions("Endpoints", "ContextIQ VPC interface endpoints")
        self.search_group = self._https_from_functions("Search", "ContextIQ OpenSearch domain")

        self.vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[isolated])
        self.endpoints = {
            name: self.vpc.add_interface_endpoint(
                name.title().replace("-", ""),
                service=_ENDPOINT_SERVICES[name],
                subnets=isolated,
                security_groups=[self.endpoints_group],
                open=False,
                private_dns_enabled=True,
            )
            for name in INTERFACE_ENDPOINTS
        }

    def _https_from_functions(self, construct_id: str, description: str) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            construct_id,
            vpc=self.vpc,
            description=f"{description}: HTTPS from the functions only",
            allow_all_outbound=False,  # it answers, it never calls out (security groups are stateful)
        )
        group.add_ingress_rule(self.functions_group, HTTPS, "HTTPS from the ContextIQ functions")
        return group

    def subnet_ids(self, count: int | None = None) -> list[str]:
        ids = list(self.subnets.subnet_ids)
        return ids if count is None else ids[:count]

    def place(self, fn: ContextIQFunction) -> None:
        """Run ``fn`` in the isolated subnets with the functions' security group."""
        cfn = fn.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=self.subnet_ids(), security_group_ids=[self.functions_group.security_group_id]
        )
        # The role is a dependency of the function, so Lambda sees these permissions when it creates it.
        fn.role.add_to_principal_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
