"""Change notifications: the stage's EventBridge bus, the notifier (DynamoDB streams -> bus + webhook
queue) and the webhook delivery worker (SQS FIFO -> signed HTTPS POSTs). See docs/notifications.md.

The notifier is a second consumer of the memories and procedures streams (the indexers are the first):
AWS advises at most two processes per stream shard, which this keeps. Like the indexers, its event
sources bisect failing batches, retry a bounded number of times and send the failed record's metadata to
a dead-letter queue of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contextiq.definitions import NOTIFYING_TABLES
from infra.components.functions import ContextIQFunction, FunctionSpec, Layers, removal_policy, settings_env
from infra.components.queues import Queues
from infra.components.storage import Storage
from infra.components.workers import check_timeout
from infra.stages import StageConfig

FUNCTION_IDS = {"Notifier": "notifier", "Delivery": "webhook_delivery"}
# Exactly the calls each makes on the webhooks table (stores/dynamo/webhooks.py).
NOTIFIER_TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem")
DELIVERY_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


class Notifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        layers: Layers,
        storage: Storage,
        queues: Queues,
        page_token_key: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        webhooks_table = storage.table("webhooks_table")
        delivery_q = queues.queue("webhook_delivery_queue_url")
        check_timeout(stage, "webhook_delivery", delivery_q)

        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=f"contextiq-{stage.name}",
            description=f"ContextIQ {stage.name}: memory, procedure and job change events (docs/notifications.md)",
        )
        specs = {
            "Notifier": FunctionSpec(
                "notifier",
                "announce memory, procedure and job changes (DynamoDB streams -> EventBridge bus + webhook queue)",
                settings_env(
                    {
                        "event_bus_name": self.bus.event_bus_name,
                        "webhooks_table": webhooks_table.table_name,
                        "webhook_delivery_queue_url": delivery_q.queue.queue_url,
                    }
                ),
            ),
            "Delivery": FunctionSpec(
                "webhook_delivery",
                "deliver change events to webhooks: signed POSTs, retried with backoff (SQS FIFO delivery queue)",
                settings_env(
                    {
                        "webhooks_table": webhooks_table.table_name,
                        "webhook_delivery_queue_url": delivery_q.queue.queue_url,
                        "page_token_secret_arn": page_token_key.secret_arn,  # unseals the signing secrets
                    }
                ),
            ),
        }
        self.functions: Mapping[str, ContextIQFunction] = {
            construct: ContextIQFunction(self, construct, spec=spec, stage=stage, layers=layers)
            for construct, spec in specs.items()
        }
        notifier, delivery = self.functions["Notifier"], self.functions["Delivery"]

        # notifier: put events on this bus only; send to the delivery queue.
        self.bus.grant_put_events_to(notifier.role)
        # subscriptions (Query), the delivery log: a conditional PutItem, GetItem when it already exists
        webhooks_table.grant(notifier.role, *NOTIFIER_TABLE_ACTIONS)
        delivery_q.queue.grant_send_messages(notifier.role)
        self.dead_letter_queue = sqs.Queue(
            self,
            "NotifierDeadLetter",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy(stage),
        )
        cfg = stage.indexer
        for definition in NOTIFYING_TABLES:
            notifier.function.add_event_source(
                sources.DynamoEventSource(
                    storage.tables[definition.logical_id],
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=cfg.batch_size,
                    bisect_batch_on_error=True,
                    retry_attempts=cfg.retry_attempts,
                    max_record_age=Duration.hours(cfg.max_record_age_hours),
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(self.dead_letter_queue),
                )
            )

        # delivery: the page-token key (sealed secrets), consume the queue
        # (receive, delete, change visibility). One message per invocation: a slow receiver delays only itself.
        webhooks_table.grant(delivery.role, *DELIVERY_TABLE_ACTIONS)  # read its webhook, log the attempt
        page_token_key.grant_read(delivery.role)
        delivery.function.add_event_source(
            sources.SqsEventSource(delivery_q.queue, batch_size=1, report_batch_item_failures=True)
        )

    @property
    def lambda_functions(self) -> dict[str, lambda_.Function]:
        return {FUNCTION_IDS[construct]: fn.function for construct, fn in self.functions.items()}
