"""The managed OpenSearch Service domain holding the memories' vector index.

Built on the L1 ``CfnDomain`` on purpose: the L2 ``Domain`` sets access policies and the log
resource policy through Lambda-backed custom resources; here both are plain CloudFormation
properties/resources (``AccessPolicies``, ``AWS::Logs::ResourcePolicy``), so the stack has no
custom-resource Lambda to patch, monitor or acknowledge.

Access is IAM (SigV4, service ``es``) and fine-grained access control (FGAC), both on every stage:
- the domain's resource policy names the function roles that need it, each limited to the HTTP methods
  it uses on the index path;
- FGAC's master user is an IAM role of the stack (``AdminRole``, assumable by the account's operators),
  with no internal user database. The function roles are mapped, as backend roles, to an OpenSearch
  role limited to the ContextIQ index family by ``scripts/opensearch_security.py`` (run as the master
  role once after each deploy that changes roles). Until then FGAC refuses them.
- Encryption at rest, node-to-node encryption and HTTPS-only (TLS 1.2) are on, as FGAC requires.

With ``StageConfig.network`` the domain sits in the stack's isolated subnets behind a security group
that accepts HTTPS from the functions only (``infra/components/network.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.components.functions import log_retention, removal_policy
from infra.stages import StageConfig

if TYPE_CHECKING:
    from infra.components.network import Network

ENGINE_VERSION = opensearch.EngineVersion.OPENSEARCH_2_19  # latest 2.x in aws-cdk-lib 2.275
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"

OPERATOR_METHODS: tuple[str, ...] = ("PUT", "POST", "DELETE", "HEAD", "GET")  # e.g. scripts/reindex.py
HTTP_ACTIONS = {m: f"es:ESHttp{m.capitalize()}" for m in ("GET", "HEAD", "POST", "PUT", "DELETE")}


class Search(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, network: Network | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        cfg = stage.search
        self.replicas = cfg.index_replicas
        self.writer_roles: list[iam.IRole] = []
        self.index_name = cfg.index_name
        self.domain_name = stage.domain_name
        # A literal domain name lets the access policy name the domain's own ARN without a cycle.
        self.domain_arn = Stack.of(self).format_arn(
            service="es",
            resource="domain",
            resource_name=self.domain_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.access_policy = iam.PolicyDocument()
        removal = removal_policy(stage)

        self.log_groups = {
            kind: logs.LogGroup(
                self,
                f"{name}Logs",
                retention=log_retention(stage.log_retention_days),
                removal_policy=removal,
            )
            for kind, name in (
                ("SEARCH_SLOW_LOGS", "SearchSlow"),
                ("INDEX_SLOW_LOGS", "IndexSlow"),
                ("ES_APPLICATION_LOGS", "Application"),
            )
        }
        log_policy = logs.CfnResourcePolicy(
            self,
            "LogsResourcePolicy",
            policy_name=f"contextiq-{stage.name}-opensearch-logs",
            policy_document=Stack.of(self).to_json_string(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "es.amazonaws.com"},
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [group.log_group_arn for group in self.log_groups.values()],
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                                "ArnLike": {"aws:SourceArn": self.domain_arn},
                            },
                        }
                    ],
                }
            ),
        )

        # FGAC's master user: operators assume it to map the function roles (scripts/opensearch_security.py).
        self.admin_role = iam.Role(
            self,
            "AdminRole",
            assumed_by=iam.AccountRootPrincipal(),
            description=f"ContextIQ {stage.name} OpenSearch master user (fine-grained access control)",
        )
        self.access_policy.add_statements(
            iam.PolicyStatement(
                principals=[iam.ArnPrincipal(self.admin_role.role_arn)],
                actions=sorted(HTTP_ACTIONS.values()),
                resources=[f"{self.domain_arn}/*"],
            )
        )
        zone_awareness = cfg.availability_zone_count is not None
        self.domain = opensearch.CfnDomain(
            self,
            "Domain",
            domain_name=self.domain_name,
            engine_version=ENGINE_VERSION.version,
            cluster_config=opensearch.CfnDomain.ClusterConfigProperty(
                instance_type=cfg.instance_type,
                instance_count=cfg.instance_count,
                zone_awareness_enabled=zone_awareness,
                zone_awareness_config=(
                    opensearch.CfnDomain.ZoneAwarenessConfigProperty(
                        availability_zone_count=cfg.availability_zone_count
                    )
                    if zone_awareness
                    else None
                ),
                dedicated_master_enabled=cfg.dedicated_master_type is not None,
                dedicated_master_type=cfg.dedicated_master_type,
                dedicated_master_count=cfg.dedicated_master_count or None,
                multi_az_with_standby_enabled=cfg.multi_az_with_standby,
            ),
            advanced_security_options=opensearch.CfnDomain.AdvancedSecurityOptionsInputProperty(
                enabled=True,
                internal_user_database_enabled=False,
                master_user_options=opensearch.CfnDomain.MasterUserOptionsProperty(
                    master_user_arn=self.admin_role.role_arn
                ),
            ),
            vpc_options=(
                opensearch.CfnDomain.VPCOptionsProperty(
                    subnet_ids=network.subnet_ids(cfg.availability_zone_count or 1),
                    security_group_ids=[network.search_group.security_group_id],
                )
                if network is not None
                else None
            ),
            ebs_options=opensearch.CfnDomain.EBSOptionsProperty(
                ebs_enabled=True, volume_size=cfg.volume_size_gb, volume_type="gp3"
            ),
            encryption_at_rest_options=opensearch.CfnDomain.EncryptionAtRestOptionsProperty(enabled=True),
            node_to_node_encryption_options=opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(enabled=True),
            domain_endpoint_options=opensearch.CfnDomain.DomainEndpointOptionsProperty(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            access_policies=self.access_policy,
            log_publishing_options={
                kind: opensearch.CfnDomain.LogPublishingOptionProperty(
                    cloud_watch_logs_log_group_arn=group.log_group_arn, enabled=True
                )
                for kind, group in self.log_groups.items()
            },
            software_update_options=opensearch.CfnDomain.SoftwareUpdateOptionsProperty(
                auto_software_update_enabled=True
            ),
            off_peak_window_options=opensearch.CfnDomain.OffPeakWindowOptionsProperty(enabled=True),
        )
        self.domain.apply_removal_policy(removal)
        self.domain.node.add_dependency(log_policy)
        self.endpoint = self.domain.attr_domain_endpoint

        for arn in stage.opensearch_extra_principal_arns:
            self._allow(iam.ArnPrincipal(arn), OPERATOR_METHODS)
            # scripts/reindex.py swaps the alias to the rebuilt index with one atomic POST /_aliases.
            self.access_policy.add_statements(
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(arn)],
                    actions=[HTTP_ACTIONS["POST"]],
                    resources=[f"{self.domain_arn}/_aliases"],
                )
            )

    @property
    def settings(self) -> dict[str, str | int]:
        """The ``contextiq.config.Settings`` values of a function that uses the index."""
        values: dict[str, str | int] = {
            "vector_index": "opensearch",
            "opensearch_endpoint": self.endpoint,
            "opensearch_index": self.index_name,
            "opensearch_service": "es",
        }
        if self.replicas is not None:
            values["opensearch_replicas"] = self.replicas
        return values

    @property
    def writer_role_arns(self) -> str:
        """The roles granted on the index, comma-separated (the ``SearchFunctionRoleArns`` output)."""
        return Fn.join(",", [role.role_arn for role in self.writer_roles])

    @property
    def index_resources(self) -> list[str]:
        """The alias the adapter uses (``<index>``, and ``<index>/_msearch``, ``<index>/_doc/...`` below it),
        the concrete indexes behind it (``<index>-000001``...) and the alias API for that one alias."""
        arn, name = self.domain_arn, self.index_name
        return [f"{arn}/{name}", f"{arn}/{name}/*", f"{arn}/{name}-*", f"{arn}/_alias/{name}"]

    def grant_http(self, role: iam.IRole, methods: Sequence[str]) -> None:
        """Let ``role`` call the index with these HTTP methods: identity policy + domain resource policy."""
        resources = self.index_resources
        actions = sorted({HTTP_ACTIONS[m] for m in methods})
        self.writer_roles.append(role)
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
        self.access_policy.add_statements(
            iam.PolicyStatement(principals=[iam.ArnPrincipal(role.role_arn)], actions=actions, resources=resources)
        )

    def _allow(self, principal: iam.IPrincipal, methods: Sequence[str]) -> None:
        self.access_policy.add_statements(
            iam.PolicyStatement(
                principals=[principal],
                actions=sorted({HTTP_ACTIONS[m] for m in methods}),
                resources=self.index_resources,
            )
        )
