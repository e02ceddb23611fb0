"""Generation policies: one function with two event sources (docs/generation-policies.md).

- The sessions table's stream, as a second consumer beside the indexer, filtered to SESSION items (event
  inserts and removals never invoke it): each session change may submit every_n_events jobs and arms an
  idle check. Bisect on error, bounded retries, then the record's metadata goes to its own DLQ.
- The generation-idle queue (standard SQS, each message sent with a DelaySeconds): a quiet session gets
  one job for its events not yet generated. Partial batch failures; maxReceiveCount, then its DLQ.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.functions import ContextIQFunction, FunctionSpec, Layers, removal_policy, settings_env
from infra.components.queues import Queues
from infra.components.storage import Storage
from infra.components.workers import check_timeout
from infra.stages import StageConfig

FUNCTION = "generation_policy"
# Lambda event filtering on the stream: only the SESSION items (appends bump them; claims and PATCHes too).
SESSION_ITEMS = {"dynamodb": {"Keys": {"sk": {"S": ["SESSION"]}}}}


class GenerationPolicies(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        layers: Layers,
        storage: Storage,
        queues: Queues,
    ) -> None:
        super().__init__(scope, construct_id)
        sessions_table = storage.table("sessions_table")
        jobs_table = storage.table("jobs_table")
        extraction = queues.queue("extraction_queue_url").queue
        idle = queues.queue("generation_idle_queue_url")
        check_timeout(stage, FUNCTION, idle)
        spec = FunctionSpec(
            FUNCTION,
            "generation policies: session changes (sessions stream) and idle checks (SQS) -> generation jobs",
            settings_env(
                {
                    "sessions_table": sessions_table.table_name,
                    "jobs_table": jobs_table.table_name,
                    "extraction_queue_url": extraction.queue_url,
                    "generation_idle_queue_url": idle.queue.queue_url,
                }
            ),
        )
        self.policy = ContextIQFunction(self, "Policy", spec=spec, stage=stage, layers=layers)
        role = self.policy.role

        # sessions: read (policies, sessions) and the claim's conditional UpdateItem; jobs: the claim's Put,
        # the queued mark; the extraction queue (jobs) and the idle queue (re-armed checks).
        sessions_table.grant_read_write_data(role)
        sessions_table.grant_stream_read(role)
        jobs_table.grant_read_write_data(role)
        extraction.grant_send_messages(role)
        idle.queue.grant_send_messages(role)

        self.dead_letter_queue = sqs.Queue(
            self,
            "StreamDeadLetter",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy(stage),
        )
        cfg = stage.indexer
        self.policy.function.add_event_source(
            sources.DynamoEventSource(
                sessions_table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=cfg.batch_size,
                bisect_batch_on_error=True,
                retry_attempts=cfg.retry_attempts,
                parallelization_factor=cfg.parallelization_factor,
                max_record_age=Duration.hours(cfg.max_record_age_hours),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.dead_letter_queue),
                filters=[lambda_.FilterCriteria.filter(SESSION_ITEMS)],
            )
        )
        self.policy.function.add_event_source(
            sources.SqsEventSource(idle.queue, batch_size=10, report_batch_item_failures=True)
        )

    @property
    def lambda_functions(self) -> dict[str, lambda_.Function]:
        return {FUNCTION: self.policy.function}
