"""The asynchronous side: extraction (SQS), consolidation (SQS FIFO) and the indexer (DynamoDB stream).

Every event source reports partial batch failures (``ReportBatchItemFailures``), so one bad record
never replays a whole batch. The SQS sources bound their concurrency (``ScalingConfig.MaximumConcurrency``)
to protect Bedrock quotas; the stream source bisects failing batches, retries a bounded number of
times and then sends the failed record's metadata to its own dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.functions import (
    ContextIQFunction,
    FunctionSpec,
    Layers,
    grant_invoke_model,
    removal_policy,
    settings_env,
)
from infra.components.queues import QueuePair, Queues
from infra.components.search import Search
from infra.components.storage import Storage
from infra.stages import StageConfig

# AWS guidance: the queue's visibility timeout should be at least 6x the function timeout.
VISIBILITY_TO_TIMEOUT_RATIO = 6


def check_timeout(stage: StageConfig, name: str, pair: QueuePair) -> None:
    timeout = stage.functions[name].timeout_seconds
    if timeout * VISIBILITY_TO_TIMEOUT_RATIO > pair.definition.visibility_timeout_seconds:
        raise ValueError(
            f"{name}: timeout {timeout}s is too long for the {pair.definition.logical_id} visibility "
            f"timeout ({pair.definition.visibility_timeout_seconds}s); keep it <= 1/{VISIBILITY_TO_TIMEOUT_RATIO}"
        )


class Workers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        layers: Layers,
        storage: Storage,
        queues: Queues,
        search: Search,
        page_token_key: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        sessions_table = storage.table("sessions_table")
        memories_table = storage.table("memories_table")
        jobs_table = storage.table("jobs_table")
        idempotency_table = storage.table("idempotency_table")
        extraction_q = queues.queue("extraction_queue_url")
        consolidation_q = queues.queue("consolidation_queue_url")
        check_timeout(stage, "extraction", extraction_q)
        check_timeout(stage, "consolidation", consolidation_q)

        embedding: dict[str, str | int] = {
            "embedder": "bedrock",
            "embedding_model_id": stage.embedding_model.model_id,
            "embedding_dimensions": stage.embedding_dimensions,
        }
        vector_index = search.settings
        extractor: dict[str, str | int] = {
            "extractor": "bedrock",
            "extraction_model_id": stage.extraction_model.model_id,
        }
        specs = {
            "extraction": FunctionSpec(
                "extraction",
                "extract candidate facts from a session (SQS extraction queue)",
                settings_env(
                    {
                        "sessions_table": sessions_table.table_name,
                        "jobs_table": jobs_table.table_name,
                        "idempotency_table": idempotency_table.table_name,
                        "consolidation_queue_url": consolidation_q.queue.queue_url,
                        "page_token_secret_arn": page_token_key.secret_arn,  # it pages a session's events
                        **extractor,
                    }
                ),
            ),
            "consolidation": FunctionSpec(
                "consolidation",
                "consolidate facts into memories, one writer per scope (SQS FIFO consolidation queue)",
                settings_env(
                    {
                        "memories_table": memories_table.table_name,
                        "jobs_table": jobs_table.table_name,
                        "idempotency_table": idempotency_table.table_name,
                        **embedding,
                        **vector_index,
                        **extractor,
                    }
                ),
            ),
            "indexer": FunctionSpec(
                "indexer",
                "index memories and events into OpenSearch (DynamoDB streams of the memories and sessions tables)",
                settings_env(
                    {
                        "memories_table": memories_table.table_name,
                        "sessions_table": sessions_table.table_name,
                        **({"event_index_opt_out": stage.event_index_opt_out} if stage.event_index_opt_out else {}),
                        **embedding,
                        **vector_index,
                    }
                ),
            ),
            "sweeper": FunctionSpec(
                "sweeper",
                "fail generation jobs stuck PENDING/RUNNING past the pipeline's longest run (schedule)",
                settings_env({"jobs_table": jobs_table.table_name}),
            ),
        }
        self.functions: Mapping[str, ContextIQFunction] = {
            name: ContextIQFunction(self, name.capitalize(), spec=spec, stage=stage, layers=layers)
            for name, spec in specs.items()
        }
        extraction, consolidation, indexer = (self.functions[n] for n in ("extraction", "consolidation", "indexer"))

        # extraction: sessions read, jobs RW, consolidation send, idempotency RW, the extraction model.
        sessions_table.grant_read_data(extraction.role)
        page_token_key.grant_read(extraction.role)
        jobs_table.grant_read_write_data(extraction.role)
        idempotency_table.grant_read_write_data(extraction.role)
        consolidation_q.queue.grant_send_messages(extraction.role)
        grant_invoke_model(extraction.role, self, [stage.extraction_model])
        extraction.function.add_event_source(
            sources.SqsEventSource(
                extraction_q.queue,
                batch_size=stage.extraction.batch_size,
                max_concurrency=stage.extraction.max_concurrency,
                report_batch_item_failures=True,
            )
        )

        # consolidation: memories RW, jobs RW, idempotency RW, OpenSearch read+write, both models.
        memories_table.grant_read_write_data(consolidation.role)
        jobs_table.grant_read_write_data(consolidation.role)
        idempotency_table.grant_read_write_data(consolidation.role)
        search.grant_http(consolidation.role, ("GET", "HEAD", "POST", "PUT"))
        grant_invoke_model(consolidation.role, self, [stage.embedding_model, stage.extraction_model])
        consolidation.function.add_event_source(
            sources.SqsEventSource(
                consolidation_q.queue,
                batch_size=stage.consolidation.batch_size,
                max_concurrency=stage.consolidation.max_concurrency,
                report_batch_item_failures=True,
            )
        )

        # indexer: memories and sessions read (+ their streams), OpenSearch write, the embedding model (events
        # are embedded here, one InvokeModel per event INSERT).
        self.indexer_dead_letter_queue = sqs.Queue(
            self,
            "IndexerDeadLetter",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy(stage),
        )
        memories_table.grant_read_data(indexer.role)
        sessions_table.grant_stream_read(indexer.role)
        search.grant_http(indexer.role, ("GET", "HEAD", "POST", "PUT", "DELETE"))
        grant_invoke_model(indexer.role, self, [stage.embedding_model])
        cfg = stage.indexer
        for table in (memories_table, sessions_table):
            indexer.function.add_event_source(
                sources.DynamoEventSource(
                    table,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=cfg.batch_size,
                    bisect_batch_on_error=True,
                    retry_attempts=cfg.retry_attempts,
                    parallelization_factor=cfg.parallelization_factor,
                    max_record_age=Duration.hours(cfg.max_record_age_hours),
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(self.indexer_dead_letter_queue),
                )
            )

        # sweeper: jobs read (Scan) + write (UpdateItem), every job_sweep_minutes.
        sweeper = self.functions["sweeper"]
        jobs_table.grant_read_write_data(sweeper.role)
        self.sweep_rule = events.Rule(
            self,
            "JobSweepSchedule",
            description="ContextIQ: fail generation jobs that stopped making progress",
            schedule=events.Schedule.rate(Duration.minutes(stage.job_sweep_minutes)),
            targets=[targets.LambdaFunction(sweeper.function, retry_attempts=0)],
        )

    @property
    def lambda_functions(self) -> dict[str, lambda_.Function]:
        return {name: fn.function for name, fn in self.functions.items()}
