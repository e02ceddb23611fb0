"""Procedural memory's asynchronous side: the learning worker (SQS FIFO) and the procedures-table indexer.

The HTTP function (``procedures``, behind /v1/procedures and /v1/trajectories) lives with the other API
functions in api.py. The learning worker reuses the stage's consolidation event-source sizing (it is
the same kind of one-writer-per-scope FIFO consumer); the indexer reuses the memories indexer's.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
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
from infra.components.queues import Queues
from infra.components.search import Search
from infra.components.storage import Storage
from infra.components.workers import check_timeout
from infra.stages import StageConfig

# construct id -> function name (functions/<name>/)
FUNCTION_IDS = {"Learning": "procedure_learning", "Indexer": "procedure_indexer"}


class ProceduralWorkers(Construct):
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
    ) -> None:
        super().__init__(scope, construct_id)
        procedures_table = storage.table("procedures_table")
        sessions_table = storage.table("sessions_table")
        jobs_table = storage.table("jobs_table")
        learning_q = queues.queue("procedure_learning_queue_url")
        check_timeout(stage, "procedure_learning", learning_q)
        embedding: dict[str, str | int] = {
            "embedder": "bedrock",
            "embedding_model_id": stage.embedding_model.model_id,
            "embedding_dimensions": stage.embedding_dimensions,
        }
        vector_index = search.settings
        specs = {
            "Learning": FunctionSpec(
                "procedure_learning",
                "learn procedures from trajectories, one writer per scope (SQS FIFO procedure-learning queue)",
                settings_env(
                    {
                        "procedures_table": procedures_table.table_name,
                        "sessions_table": sessions_table.table_name,
                        "jobs_table": jobs_table.table_name,
                        **embedding,
                        **vector_index,
                        "extractor": "bedrock",
                        "extraction_model_id": stage.extraction_model.model_id,
                    }
                ),
            ),
            "Indexer": FunctionSpec(
                "procedure_indexer",
                "index procedures and trajectories into OpenSearch (DynamoDB stream of the procedures table)",
                settings_env({"procedures_table": procedures_table.table_name, **embedding, **vector_index}),
            ),
        }
        self.functions: Mapping[str, ContextIQFunction] = {
            construct: ContextIQFunction(self, construct, spec=spec, stage=stage, layers=layers)
            for construct, spec in specs.items()
        }
        learning, indexer = self.functions["Learning"], self.functions["Indexer"]

        # learning: procedures RW (+ trajectories), sessions read, jobs RW, OpenSearch read+write, both models.
        procedures_table.grant_read_write_data(learning.role)
        sessions_table.grant_read_data(learning.role)
        jobs_table.grant_read_write_data(learning.role)
        search.grant_http(learning.role, ("GET", "HEAD", "POST", "PUT"))
        grant_invoke_model(learning.role, self, [stage.embedding_model, stage.extraction_model])
        learning.function.add_event_source(
            sources.SqsEventSource(
                learning_q.queue,
                batch_size=stage.consolidation.batch_size,
                max_concurrency=stage.consolidation.max_concurrency,
                report_batch_item_failures=True,
            )
        )

        # indexer: procedures read (+ its stream), OpenSearch write; its own dead-letter queue.
        self.indexer_dead_letter_queue = sqs.Queue(
            self,
            "IndexerDeadLetter",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy(stage),
        )
        procedures_table.grant_read_data(indexer.role)
        search.grant_http(indexer.role, ("GET", "HEAD", "POST", "PUT", "DELETE"))
        cfg = stage.indexer
        indexer.function.add_event_source(
            sources.DynamoEventSource(
                procedures_table,
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

    @property
    def lambda_functions(self) -> dict[str, lambda_.Function]:
        return {FUNCTION_IDS[construct]: fn.function for construct, fn in self.functions.items()}
