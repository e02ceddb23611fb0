"""cdk-nag (AwsSolutions) acknowledgements: every one targeted at the construct it concerns, with a reason.

``infra/app.py`` registers ``AwsSolutionsChecks`` on the app, so synthesis fails on any unacknowledged
error. The reasons below are the ones documented in docs/infrastructure.md; ``tests/infra`` checks
that nothing is left unacknowledged and that every acknowledgement has a reason.

IAM wildcard findings (AwsSolutions-IAM5) are not acknowledged blindly: ``acknowledge_findings`` reads
each function role's policy and acknowledges a wildcard resource only when it matches one of the
patterns of ``WILDCARD_RESOURCES`` (and, for ``Resource::*``, only for the actions in
``STAR_RESOURCE_ACTIONS``). Anything else raises at synth time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.account import ApiGatewayAccountStack
    from infra.stack import ContextIQStack

# Actions that do not support resource-level permissions, so their statements need "Resource": "*".
STAR_RESOURCE_ACTIONS: frozenset[str] = frozenset(
    {
        "xray:PutTraceSegments",  # Lambda active tracing
        "xray:PutTelemetryRecords",
        "dynamodb:ListStreams",  # the indexer's DynamoDB stream event source
        # VPC placement (infra/components/network.py): the network-interface actions Lambda needs
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)

# cfn-lint findings every template accepts, with the reason. The stack writes them into the template's
# ``Metadata.cfn-lint.config.ignore_checks``, so cfn-lint and `sam validate --lint` read the same list.
CFN_LINT_IGNORES: dict[str, str] = {
    "W3005": "CDK adds DependsOn on a function's role next to the GetAtt that already orders it",
}

REASONS: dict[str, str] = {
    "IAM5-star": (
        "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing), dynamodb:ListStreams (stream event "
        "source) and, on stages placed in a VPC, the EC2 network-interface actions of Lambda's VPC access "
        "(those of the AWS-managed AWSLambdaVPCAccessExecutionRole) do not support resource-level "
        "permissions; every other action of the role is scoped."
    ),
    "IAM5-gsi": (
        "Queries on the table's global secondary indexes need <table ARN>/index/*; the wildcard only spans the "
        "indexes of this one table."
    ),
    "IAM5-opensearch": (
        "Document-level paths of the single ContextIQ index alias (<index>/_doc/<id>, <index>/_msearch, "
        "<index>/_bulk) and the concrete indexes behind it (<index>-000001); the wildcard never leaves that "
        "index family, and the domain policy mirrors it."
    ),
    "L1": (
        "Python 3.12 is pinned on purpose: the deps layer holds cp312/aarch64 wheels (scripts/build_layers.py), "
        "so the runtime and the layer must change together. The test suite runs on the development interpreter "
        "(Python 3.11, pyproject requires-python >=3.11), not on 3.12: upgrading means rebuilding the layer for "
        "the new runtime and loading every handler on it (tests/infra/test_layers.py checks the import closure)."
    ),
    "DDB3": (
        "dev tables hold disposable data; point-in-time recovery is enabled in staging and prod (infra/stages.py)."
    ),
    "OS1": (
        "This stage has no VPC placement (StageConfig.network is None, a stage option): the functions run outside "
        "a VPC (no interface endpoints to pay for); the domain only accepts SigV4-signed HTTPS (TLS 1.2+) from the "
        "IAM roles named in its policy, and fine-grained access control maps those roles to the index family."
    ),
    "OS3": (
        "Access is controlled by IAM principals (the function roles), not source IPs: Lambda has no stable IP "
        "addresses outside a VPC."
    ),
    "OS4": (
        "Dedicated master nodes are only worth it for multi-node production clusters; prod has three (infra/stages.py)."
    ),
    "OS7": "dev runs a single-node domain to save cost; staging and prod use zone awareness (infra/stages.py).",
    "APIG4": (
        "GET /openapi.json is public on purpose (the API description), and so is each resource's ANY method: a MOCK "
        "integration (no backend, no data) answering OPTIONS with 204 and an undeclared method with 405, both with "
        "Allow, as the application does before authentication. Every data method has the key authorizer."
    ),
    "COG4": (
        "Clients are agents holding per-tenant API keys: every method is behind a Lambda REQUEST authorizer that "
        "validates the key against the hashed key table and returns tenant and role (RBAC). A stage with a JWT "
        "issuer (Cognito or any OIDC issuer) verifies the user's token in the same authorizer, since a Cognito "
        "user pool authorizer could not also check the key or map claims to tenant and role."
    ),
    "IAM4": (
        "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for the account-level role API Gateway "
        "uses to write access/execution logs; it has no resource to scope to."
    ),
    "SMG4": (
        "The page-token key has no rotation Lambda: rotating it only invalidates the page tokens in flight "
        "(clients restart a listing on 422), so it is rotated by hand with put-secret-value when needed."
    ),
    "SQS3": (
        "This queue is the dead-letter destination of a DynamoDB stream event source (indexer, notifier, "
        "generation policy: on-failure destination), which the rule cannot see because it only recognises SQS "
        "redrive policies."
    ),
}


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"acknowledgement of {rule_id} needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def nag_string(stack: Stack, value: Any) -> str:
    """Render a (token) string the way cdk-nag prints it in finding ids: Ref -> <X>, GetAtt -> <A.B>."""

    def render(node: Any) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return f"<{arg}>"
            if key == "Fn::GetAtt":
                return f"<{arg[0]}.{arg[1]}>"
            if key == "Fn::Join":
                separator, parts = arg
                return str(separator).join(render(part) for part in parts)
        raise ValueError(f"cannot render {node!r} as a cdk-nag finding id")

    return render(stack.resolve(value))


def _statements(stack: Stack, role: iam.Role) -> Iterable[dict[str, Any]]:
    policy = role.node.try_find_child("DefaultPolicy")
    if not isinstance(policy, iam.Policy):
        return []
    document = stack.resolve(policy.document.to_json())
    return list(document.get("Statement", []))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_reason(resource: str, actions: set[str], es_prefixes: Iterable[str]) -> str:
    """The reason that justifies a wildcard ``resource`` (already rendered), or raise."""
    if resource == "*":
        unexpected = actions - STAR_RESOURCE_ACTIONS
        if unexpected:
            raise ValueError(f'actions {sorted(unexpected)} are granted on "*": scope them to resources')
        return REASONS["IAM5-star"]
    if resource.endswith("/index/*") and resource.startswith("<") and resource.count("*") == 1:
        return REASONS["IAM5-gsi"]
    if any(resource.startswith(prefix) for prefix in es_prefixes) and resource.count("*") == 1:
        return REASONS["IAM5-opensearch"]
    raise ValueError(f"wildcard resource {resource!r} is not on the allowlist in infra/nag.py")


def acknowledge_role_wildcards(stack: Stack, role: iam.Role, es_prefixes: Iterable[str]) -> None:
    prefixes = tuple(es_prefixes)
    for statement in _statements(stack, role):
        actions = {str(a) for a in _as_list(statement.get("Action", []))}
        for raw in _as_list(statement.get("Resource", [])):
            resource = nag_string(stack, raw)
            if "*" in resource:
                reason = wildcard_reason(resource, actions, prefixes)
                acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)


def acknowledge_findings(stack: ContextIQStack) -> None:
    stage = stack.stage
    functions = {
        **stack.api.functions,
        **stack.workers.functions,
        **stack.procedural.functions,
        **stack.notifications.functions,
        "generation_policy": stack.policies.policy,
    }
    base = f"{stack.search.domain_arn}/{stack.search.index_name}"
    es_prefixes = [nag_string(stack, f"{base}/"), nag_string(stack, f"{base}-")]
    for fn in functions.values():
        acknowledge(fn.function, "AwsSolutions-L1", REASONS["L1"])
        acknowledge_role_wildcards(stack, fn.role, es_prefixes)

    if not stage.point_in_time_recovery:
        for table in stack.storage.tables.values():
            acknowledge(table, "AwsSolutions-DDB3", REASONS["DDB3"])

    domain = stack.search.domain
    if stage.network is None:
        acknowledge(domain, "AwsSolutions-OS1", REASONS["OS1"])
    acknowledge(domain, "AwsSolutions-OS3", REASONS["OS3"])
    if stage.search.dedicated_master_type is None:
        acknowledge(domain, "AwsSolutions-OS4", REASONS["OS4"])
    if stage.search.availability_zone_count is None:
        acknowledge(domain, "AwsSolutions-OS7", REASONS["OS7"])

    rest_api = stack.api.rest_api
    for method in rest_api.methods:
        cfn_method = method.node.default_child
        assert isinstance(cfn_method, apigw.CfnMethod)
        if cfn_method.authorization_type in (None, "NONE"):
            acknowledge(method, "AwsSolutions-APIG4", REASONS["APIG4"])
        acknowledge(method, "AwsSolutions-COG4", REASONS["COG4"])
    acknowledge(stack.workers.indexer_dead_letter_queue, "AwsSolutions-SQS3", REASONS["SQS3"])
    acknowledge(stack.procedural.indexer_dead_letter_queue, "AwsSolutions-SQS3", REASONS["SQS3"])
    acknowledge(stack.notifications.dead_letter_queue, "AwsSolutions-SQS3", REASONS["SQS3"])
    acknowledge(stack.policies.dead_letter_queue, "AwsSolutions-SQS3", REASONS["SQS3"])
    acknowledge(stack.api.page_token_key, "AwsSolutions-SMG4", REASONS["SMG4"])


def acknowledge_account_findings(stack: ApiGatewayAccountStack) -> None:
    from infra.account import PUSH_TO_CLOUDWATCH

    managed = f"arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_CLOUDWATCH}"
    acknowledge(stack.role, f"AwsSolutions-IAM4[Policy::{managed}]", REASONS["IAM4"])
