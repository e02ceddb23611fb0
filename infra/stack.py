"""``ContextIQ-<stage>``: the whole service in one stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.components.api import Api
from infra.components.functions import Layers
from infra.components.network import Network
from infra.components.notifications import Notifications
from infra.components.observability import Observability
from infra.components.policies import GenerationPolicies
from infra.components.procedural import ProceduralWorkers
from infra.components.queues import Queues
from infra.components.search import Search
from infra.components.storage import Storage
from infra.components.workers import Workers
from infra.nag import CFN_LINT_IGNORES, acknowledge_findings
from infra.stages import StageConfig


class ContextIQStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        stage: StageConfig,
        alarm_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            stage.stack_name,
            description=f"ContextIQ memory service for AI agents ({stage.name})",
            termination_protection=stage.retain_data,
            **kwargs,
        )
        self.stage = stage
        Tags.of(self).add("project", "contextiq")
        Tags.of(self).add("stage", stage.name)

        self.storage = Storage(self, "Storage", stage=stage)
        self.queues = Queues(self, "Queues", stage=stage)
        self.network = Network(self, "Network", stage=stage, config=stage.network) if stage.network else None
        self.search = Search(self, "Search", stage=stage, network=self.network)
        self.layers = Layers(self, "Layers", local_invoke=stage.local_invoke)
        backends = {
            "stage": stage,
            "layers": self.layers,
            "storage": self.storage,
            "queues": self.queues,
            "search": self.search,
        }
        self.api = Api(self, "Api", **backends)  # type: ignore[arg-type]
        self.workers = Workers(
            self,
            "Workers",
            page_token_key=self.api.page_token_key,
            **backends,  # type: ignore[arg-type]
        )
        self.procedural = ProceduralWorkers(self, "ProceduralWorkers", **backends)  # type: ignore[arg-type]
        self.notifications = Notifications(
            self,
            "Notifications",
            stage=stage,
            layers=self.layers,
            storage=self.storage,
            queues=self.queues,
            page_token_key=self.api.page_token_key,
        )
        self.policies = GenerationPolicies(
            self, "GenerationPolicies", stage=stage, layers=self.layers, storage=self.storage, queues=self.queues
        )
        if self.network is not None:
            # Every function but the authorizer (it fetches the JWT issuer's keys from the internet) and the
            # notifications pair (webhook delivery calls customers' URLs; neither touches the domain).
            for fn in [*self.api.functions.values(), *self.workers.functions.values()]:
                if fn.name != "authorizer":
                    self.network.place(fn)
            for fn in [*self.procedural.functions.values(), self.policies.policy]:
                self.network.place(fn)
        functions = {
            **self.api.lambda_functions,
            **self.workers.lambda_functions,
            **self.procedural.lambda_functions,
            **self.notifications.lambda_functions,
            **self.policies.lambda_functions,
        }
        self.observability = Observability(
            self,
            "Observability",
            stage=stage,
            rest_api=self.api.rest_api,
            functions=functions,
            queues=self.queues.pairs,
            indexer_dead_letter_queue=self.workers.indexer_dead_letter_queue,
            stream_dead_letter_queues={
                "ProcedureIndexer": self.procedural.indexer_dead_letter_queue,
                "Notifier": self.notifications.dead_letter_queue,
                "GenerationPolicy": self.policies.dead_letter_queue,
            },
            tables=self.storage.tables,
            search=self.search,
            alarm_email=alarm_email if alarm_email is not None else stage.alarm_email,
        )
        self._outputs()
        acknowledge_findings(self)
        metadata: dict[str, Any] = {"cfn-lint": {"config": {"ignore_checks": sorted(CFN_LINT_IGNORES)}}}
        if stage.local_invoke is not None:
            metadata["ContextIQ::LocalInvoke"] = {
                "Architecture": stage.local_invoke.architecture,
                "Note": "for sam local invoke only (scripts/sam_template.py); never deploy this template",
            }
        self.template_options.metadata = metadata

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL (append v1/...)")
        CfnOutput(self, "RestApiId", value=self.api.rest_api.rest_api_id)
        CfnOutput(self, "UsagePlanId", value=self.api.usage_plan.usage_plan_id, description="scripts/api_keys.py")
        for logical_id, table in self.storage.tables.items():
            CfnOutput(self, f"{logical_id}Name", value=table.table_name)
        for logical_id, pair in self.queues.pairs.items():
            CfnOutput(self, f"{logical_id}Url", value=pair.queue.queue_url)
            dlq_output = logical_id.removesuffix("Queue") + "DlqUrl"  # ExtractionDlqUrl, ConsolidationDlqUrl
            CfnOutput(self, dlq_output, value=pair.dead_letter_queue.queue_url)
        CfnOutput(self, "IndexerDlqUrl", value=self.workers.indexer_dead_letter_queue.queue_url)
        CfnOutput(self, "ProcedureIndexerDlqUrl", value=self.procedural.indexer_dead_letter_queue.queue_url)
        CfnOutput(self, "NotifierDlqUrl", value=self.notifications.dead_letter_queue.queue_url)
        CfnOutput(
            self, "EventBusName", value=self.notifications.bus.event_bus_name, description="change events (EventBridge)"
        )
        CfnOutput(self, "EventBusArn", value=self.notifications.bus.event_bus_arn)
        CfnOutput(self, "GenerationPolicyDlqUrl", value=self.policies.dead_letter_queue.queue_url)
        CfnOutput(self, "OpenSearchEndpoint", value=self.search.endpoint)
        CfnOutput(self, "OpenSearchIndex", value=self.search.index_name)
        CfnOutput(
            self,
            "SearchAdminRoleArn",
            value=self.search.admin_role.role_arn,
            description="OpenSearch master user (FGAC): scripts/opensearch_security.py assumes it",
        )
        CfnOutput(
            self,
            "SearchFunctionRoleArns",
            value=self.search.writer_role_arns,
            description="Function roles mapped to the contextiq_functions OpenSearch role",
        )
        CfnOutput(self, "DashboardName", value=self.observability.dashboard_name)
        CfnOutput(self, "AlarmTopicArn", value=self.observability.topic.topic_arn)
