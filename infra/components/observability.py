"""Dashboard and alarms (cdk-monitoring-constructs), alarm topic (KMS-encrypted SNS, TLS only).

One ``MonitoringFacade`` per stage renders a dashboard named ``ContextIQ-<stage>`` and creates the
alarms; every alarm notifies the stage's SNS topic, which has an e-mail subscription when the stage
config (or ``-c alarm_email=...``) names one.

Business metrics are emitted by the application (Powertools Metrics, namespace ``ContextIQ``) with a
``stage`` dimension. Powertools also adds a ``service`` dimension, and a CloudWatch metric is
identified by its full dimension set, so the dashboard reads them with schema-less SEARCH
expressions (``stage="<stage>"`` matches whatever other dimensions are attached). cdk-monitoring-
constructs' own ``CustomMetricSearch`` always renders a ``{namespace,dims}`` schema, which would
require the exact dimension set; hence plain ``MathExpression`` objects inside ``monitor_custom``.
"""

from __future__ import annotations

from collections.abc import Mapping

import cdk_monitoring_constructs as mc
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.functions import METRICS_NAMESPACE, removal_policy
from infra.components.queues import QueuePair
from infra.components.search import Search
from infra.stages import StageConfig

# name -> (statistic, unit label); see the application's Powertools metrics.
BUSINESS_METRICS: Mapping[str, tuple[str, ...]] = {
    "Activity": ("EventsAppended", "MemoriesAdded", "MemoriesUpdated", "MemoriesDeleted", "JobsFailed"),
    "Latency (ms, p50/p99)": ("ExtractionLatency", "SearchLatency"),
    "Model tokens": ("ModelInputTokens", "ModelOutputTokens"),
    "Notifications": ("ChangeEventsPublished", "WebhooksDelivered", "WebhookAttemptsFailed", "WebhooksDeadLettered"),
}
LATENCY_METRICS = frozenset({"ExtractionLatency", "SearchLatency"})
PERIOD = Duration.minutes(5)
# The functions that mark jobs FAILED (contextiq.services.generation.fail_job, the stale-job sweeper).
JOB_FAILING_FUNCTIONS: tuple[str, ...] = ("extraction", "consolidation", "procedure_learning", "sweeper")


def failed_jobs_metric(stage: str) -> cloudwatch.MathExpression:
    """Jobs that ended FAILED, summed over the functions that fail them.

    An alarm cannot use a SEARCH expression, and a CloudWatch metric is identified by its full dimension
    set: Powertools publishes ``JobsFailed`` with exactly ``service`` (``contextiq-<function>``, from
    POWERTOOLS_SERVICE_NAME) and ``stage`` (tests/infra/test_jobs_alarm.py checks the EMF it emits), so
    the alarm names each series and adds them with metric math (FILL: a quiet function has no data).
    """
    series = {
        f"failed{i}": cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="JobsFailed",
            dimensions_map={"service": f"contextiq-{name}", "stage": stage},
            statistic="Sum",
            period=PERIOD,
        )
        for i, name in enumerate(JOB_FAILING_FUNCTIONS)
    }
    return cloudwatch.MathExpression(
        expression="+".join(f"FILL({key}, 0)" for key in series),
        using_metrics=series,
        period=PERIOD,
        label="JobsFailed",
    )


def business_metric(stage: str, name: str, statistic: str) -> cloudwatch.MathExpression:
    query = f'Namespace="{METRICS_NAMESPACE}" MetricName="{name}" stage="{stage}"'
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{query}', '{statistic}', {int(PERIOD.to_seconds())})",
        label=f"{name} {statistic}" if name in LATENCY_METRICS else name,
        period=PERIOD,
        using_metrics={},
    )


def opensearch_metric(search: Search, name: str, statistic: str, label: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/ES",
        metric_name=name,
        dimensions_map={"ClientId": Stack.of(search).account, "DomainName": search.domain_name},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.Function],
        queues: Mapping[str, QueuePair],
        indexer_dead_letter_queue: sqs.Queue,
        tables: Mapping[str, dynamodb.Table],
        search: Search,
        alarm_email: str | None,
        stream_dead_letter_queues: Mapping[str, sqs.Queue] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        thresholds = stage.alarms

        # CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key: use our own.
        self.topic_key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"ContextIQ {stage.name} alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy(stage),
        )
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"ContextIQ {stage.name} alarms",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.dashboard_name = stage.stack_name
        self.facade = mc.MonitoringFacade(
            self,
            "Monitoring",
            alarm_factory_defaults=mc.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=stage.stack_name,
                action=mc.SnsAlarmActionStrategy(on_alarm_topic=self.topic),
                datapoints_to_alarm=1,
                evaluation_periods=1,
            ),
            metric_factory_defaults=mc.MetricFactoryDefaults(period=PERIOD),
            dashboard_factory=mc.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=self.dashboard_name,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        facade = self.facade

        facade.add_large_header(f"ContextIQ {stage.name}")
        facade.monitor_api_gateway(
            api=rest_api,
            api_stage=stage.name,
            human_readable_name="API",
            alarm_friendly_name="Api",
            latency_types_to_render=[mc.LatencyType.P50, mc.LatencyType.P90, mc.LatencyType.P99],
            add5_xx_fault_rate_alarm={
                "Critical": mc.ErrorRateThreshold(
                    max_error_rate=thresholds.api_5xx_rate_percent / 100, datapoints_to_alarm=2, evaluation_periods=3
                )
            },
            add_latency_p99_alarm={
                "Warning": mc.LatencyThreshold(
                    max_latency=Duration.millis(thresholds.api_p99_latency_ms),
                    datapoints_to_alarm=2,
                    evaluation_periods=3,
                )
            },
        )

        facade.add_medium_header("Functions")
        for name, fn in functions.items():
            iterator = name in ("indexer", "procedure_indexer")  # DynamoDB stream consumers
            facade.monitor_lambda_function(
                lambda_function=fn,
                human_readable_name=f"Function {name}",
                alarm_friendly_name=f"Function-{name}",
                latency_types_to_render=[mc.LatencyType.P50, mc.LatencyType.P90, mc.LatencyType.P99],
                is_iterator=iterator,
                add_fault_count_alarm={
                    "Warning": mc.ErrorCountThreshold(max_error_count=thresholds.lambda_error_count)
                },
                add_throttles_count_alarm={
                    "Warning": mc.ErrorCountThreshold(max_error_count=thresholds.lambda_throttle_count)
                },
                add_max_iterator_age_alarm=(
                    {"Warning": mc.MaxAgeThreshold(max_age_in_millis=15 * 60 * 1000)} if iterator else None
                ),
            )
        facade.monitor_custom(
            human_readable_name="Function concurrency",
            alarm_friendly_name="Concurrency",
            metric_groups=[
                mc.CustomMetricGroup(
                    title="Concurrent executions (max)",
                    metrics=[
                        fn.metric("ConcurrentExecutions", statistic="Maximum", period=PERIOD, label=name)
                        for name, fn in functions.items()
                    ],
                )
            ],
        )

        facade.add_medium_header("Queues")
        for logical_id, pair in queues.items():
            facade.monitor_sqs_queue_with_dlq(
                queue=pair.queue,
                dead_letter_queue=pair.dead_letter_queue,
                human_readable_name=logical_id,
                alarm_friendly_name=logical_id,
                add_queue_max_message_age_alarm={
                    "Warning": mc.MaxMessageAgeThreshold(max_age_in_seconds=thresholds.queue_oldest_message_age_seconds)
                },
                add_dead_letter_queue_max_size_alarm={"Critical": mc.MaxMessageCountThreshold(max_message_count=0)},
            )
        facade.monitor_sqs_queue(
            queue=indexer_dead_letter_queue,
            human_readable_name="Indexer stream failures (DLQ)",
            alarm_friendly_name="IndexerDeadLetter",
            add_queue_max_size_alarm={"Critical": mc.MaxMessageCountThreshold(max_message_count=0)},
        )
        for name, dlq in (stream_dead_letter_queues or {}).items():
            facade.monitor_sqs_queue(
                queue=dlq,
                human_readable_name=f"{name} stream failures (DLQ)",
                alarm_friendly_name=f"{name}DeadLetter",
                add_queue_max_size_alarm={"Critical": mc.MaxMessageCountThreshold(max_message_count=0)},
            )

        facade.add_medium_header("Tables")
        for logical_id, table in tables.items():
            facade.monitor_dynamo_table(
                table=table,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                human_readable_name=logical_id,
                alarm_friendly_name=logical_id,
                add_read_throttled_events_count_alarm={
                    "Warning": mc.ThrottledEventsThreshold(
                        max_throttled_events_threshold=thresholds.dynamodb_throttled_requests
                    )
                },
                add_write_throttled_events_count_alarm={
                    "Warning": mc.ThrottledEventsThreshold(
                        max_throttled_events_threshold=thresholds.dynamodb_throttled_requests
                    )
                },
            )

        facade.add_medium_header("Search")
        facade.monitor_open_search_cluster(
            domain=search.domain,
            human_readable_name="OpenSearch",
            alarm_friendly_name="OpenSearch",
            add_cluster_status_alarm={
                "Red": mc.OpenSearchClusterStatusCustomization(status=mc.OpenSearchClusterStatus.RED)
            },
            add_disk_space_usage_alarm={
                "Warning": mc.UsageThreshold(max_usage_percent=thresholds.opensearch_disk_usage_percent)
            },
            add_jvm_memory_pressure_alarm={
                "Warning": mc.UsageThreshold(max_usage_percent=thresholds.opensearch_jvm_pressure_percent)
            },
            add_cluster_index_writes_blocked_alarm={
                "Critical": mc.OpenSearchClusterIndexWritesBlockedThreshold(max_blocked_writes=0)
            },
        )
        # The library alarms on cluster status but has no widget for it: add one, with free storage.
        facade.monitor_custom(
            human_readable_name="OpenSearch health",
            alarm_friendly_name="OpenSearchHealth",
            metric_groups=[
                mc.CustomMetricGroup(
                    title="Cluster status (1 = current)",
                    metrics=[
                        opensearch_metric(search, f"ClusterStatus.{color}", "Maximum", color)
                        for color in ("green", "yellow", "red")
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Free storage (MiB, min node)",
                    metrics=[opensearch_metric(search, "FreeStorageSpace", "Minimum", "FreeStorageSpace")],
                ),
                mc.CustomMetricGroup(
                    title="JVM memory pressure (%, max node)",
                    metrics=[opensearch_metric(search, "JVMMemoryPressure", "Maximum", "JVMMemoryPressure")],
                ),
            ],
        )

        self.failed_jobs_alarm = cloudwatch.Alarm(
            self,
            "JobsFailedAlarm",
            alarm_name=f"{stage.stack_name}-JobsFailed",
            alarm_description=(
                "Generation jobs ended FAILED (worker error on the last delivery, Lambda timeout guard, or the "
                "stale-job sweeper): GET /v1/jobs/{id} shows the reason; see docs/operations.md"
            ),
            metric=failed_jobs_metric(stage.name),
            threshold=thresholds.failed_jobs,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_jobs_alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))

        facade.add_medium_header("Business metrics")
        groups = []
        for title, names in BUSINESS_METRICS.items():
            metrics: list[cloudwatch.MathExpression] = []
            for name in names:
                if name in LATENCY_METRICS:
                    metrics += [business_metric(stage.name, name, "p50"), business_metric(stage.name, name, "p99")]
                else:
                    metrics.append(business_metric(stage.name, name, "Sum"))
            groups.append(mc.CustomMetricGroup(title=title, metrics=metrics))
        facade.monitor_custom(
            human_readable_name=f"Business metrics (namespace {METRICS_NAMESPACE}, stage={stage.name})",
            alarm_friendly_name="Business",
            metric_groups=groups,
        )
