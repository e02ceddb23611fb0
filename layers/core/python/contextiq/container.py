"""Builds the adapters and services from Settings, lazily, once per process (a warm Lambda reuses them).

Every member is typed; the heavier modules are imported inside the member that needs them (and only
for type checking at the top), so each function's cold start pays only for what it uses.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from contextiq.config import Settings
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.api_keys import ApiKeyStore
from contextiq.stores.dynamo.base import PageTokens
from contextiq.stores.dynamo.sessions import SessionStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from contextiq.ai.embedders.base import Embedder
    from contextiq.services.branches import BranchService
    from contextiq.services.context import ContextService
    from contextiq.services.episodes import EpisodeService
    from contextiq.services.event_opt_out import EventOptOut
    from contextiq.services.generation import ConsolidationWorker, ExtractionWorker, GenerationService
    from contextiq.services.generation_policies import GenerationPolicyService
    from contextiq.services.idempotency import IdempotentRunner
    from contextiq.services.indexing import Tables
    from contextiq.services.memories import MemoryService
    from contextiq.services.policy_engine import PolicyEngine
    from contextiq.services.procedure_jobs import ProcedureJobService, ProcedureLearningWorker
    from contextiq.services.procedures import ProcedureService
    from contextiq.services.recall import RecallService
    from contextiq.services.templates import TemplateService
    from contextiq.services.trajectories import TrajectoryService
    from contextiq.services.webhook_delivery import DeliveryWorker
    from contextiq.services.webhooks import Notifier, WebhookService
    from contextiq.stores.dynamo.jobs import JobStore
    from contextiq.stores.dynamo.memories import MemoryStore
    from contextiq.stores.dynamo.policies import PolicyStore
    from contextiq.stores.dynamo.webhooks import WebhookStore
    from contextiq.stores.vector.base import VectorIndex

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)


def page_token_key(settings: Settings, client: Callable[[str], Any]) -> bytes:
    """The stage's page-token key: configured, from Secrets Manager, or generated into data_dir."""
    if settings.page_token_key:
        return settings.page_token_key.encode()
    if settings.page_token_secret_arn:
        secret = client("secretsmanager").get_secret_value(SecretId=settings.page_token_secret_arn)
        return str(secret["SecretString"]).encode()
    path = settings.data_dir / "page-token.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=self.settings.region, config=_BOTO_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        return boto3.client("sqs", region_name=self.settings.region, config=_BOTO_CONFIG)

    @cached_property
    def page_tokens(self) -> PageTokens:
        return PageTokens(lambda: page_token_key(self.settings, self._client))

    def _client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.settings.region, config=_BOTO_CONFIG)  # type: ignore[call-overload]

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        return ApiKeyStore(
            self.settings.api_keys_table, self.dynamodb, cache_seconds=self.settings.api_key_cache_seconds
        )

    @cached_property
    def idempotency(self) -> IdempotentRunner:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from contextiq.services.idempotency import IdempotentRunner

        persistence = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table, boto3_client=self.dynamodb)
        return IdempotentRunner(persistence, self.settings.idempotency_expiry_seconds)

    @cached_property
    def session_store(self) -> SessionStore:
        return SessionStore(self.dynamodb, self.settings.sessions_table, self.page_tokens)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.session_store)

    @cached_property
    def branches(self) -> BranchService:
        from contextiq.services.branches import BranchService
        from contextiq.stores.dynamo.session_branches import SessionBranchStore

        store = SessionBranchStore(self.dynamodb, self.settings.sessions_table, self.page_tokens)
        return BranchService(self.sessions, store, app_policies=self.policy_store)

    @cached_property
    def episodes(self) -> EpisodeService:
        from contextiq.services.episodes import EpisodeService

        return EpisodeService(self.session_store, self.embedder, self.vector_index)

    @cached_property
    def recall(self) -> RecallService:
        from contextiq.services.recall import RecallService

        return RecallService(self.memories, self.episodes)

    def index_tables(self) -> Tables:
        """What scripts/reindex.py rebuilds the index from."""
        from contextiq.services.indexing import Tables
        from contextiq.services.procedure_indexing import rebuild_procedures, wanted_procedures

        return Tables(
            memories=self.memory_store.scan_all,
            events=self.session_store.scan_events,
            others=lambda index, reembed: rebuild_procedures(index, self, reembed=reembed),
            wanted_others=lambda: wanted_procedures(self),
        )

    @cached_property
    def embedder(self) -> Embedder:
        from contextiq.ai.embedders.factory import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def vector_index(self) -> VectorIndex:
        from contextiq.stores.vector.factory import build_vector_index, index_info_for

        return build_vector_index(self.settings, index_info_for(self.embedder))

    @cached_property
    def memory_store(self) -> MemoryStore:
        from contextiq.stores.dynamo.memories import MemoryStore

        return MemoryStore(self.dynamodb, self.settings.memories_table, self.page_tokens)

    @cached_property
    def memories(self) -> MemoryService:
        from contextiq.services.memories import MemoryService

        return MemoryService(self.memory_store, self.embedder, self.vector_index)

    @cached_property
    def jobs(self) -> JobStore:
        from contextiq.stores.dynamo.jobs import JobStore

        return JobStore(self.dynamodb, self.settings.jobs_table, self.page_tokens)

    @cached_property
    def generation(self) -> GenerationService:
        from contextiq.services.generation import GenerationService
        from contextiq.stores.queues import SqsQueue

        return GenerationService(self.jobs, self.sessions, SqsQueue(self.sqs, self.settings.extraction_queue_url))

    @cached_property
    def extraction_worker(self) -> ExtractionWorker:
        from contextiq.ai.extractors.factory import build_extractor
        from contextiq.services.generation import ExtractionWorker
        from contextiq.stores.queues import SqsQueue

        return ExtractionWorker(
            self.jobs,
            self.sessions,
            build_extractor(self.settings),
            SqsQueue(self.sqs, self.settings.consolidation_queue_url),
        )

    @cached_property
    def consolidation_worker(self) -> ConsolidationWorker:
        from contextiq.ai.extractors.factory import build_decider
        from contextiq.services.generation import ConsolidationWorker

        return ConsolidationWorker(self.jobs, self.memories, build_decider(self.settings))

    # -- generation policies ----------------------------------------------------------------------

    @cached_property
    def policy_store(self) -> PolicyStore:
        from contextiq.stores.dynamo.policies import PolicyStore

        return PolicyStore(self.dynamodb, self.settings.sessions_table, self.settings.jobs_table, self.page_tokens)

    @cached_property
    def event_opt_out(self) -> EventOptOut:
        """The apps whose turns are not indexed: the operator's list and each tenant's app policies."""
        from contextiq.services.event_opt_out import EventOptOut

        return EventOptOut(self.policy_store, self.settings.events_opted_out)

    @cached_property
    def generation_policies(self) -> GenerationPolicyService:
        from contextiq.services.generation_policies import GenerationPolicyService

        return GenerationPolicyService(self.policy_store, self.sessions)

    @cached_property
    def policy_engine(self) -> PolicyEngine:
        from contextiq.services.policy_engine import PolicyEngine
        from contextiq.stores.queues import SqsQueue

        return PolicyEngine(
            self.policy_store,
            self.sessions,
            SqsQueue(self.sqs, self.settings.extraction_queue_url),
            SqsQueue(self.sqs, self.settings.generation_idle_queue_url),
        )

    # -- procedural memory ------------------------------------------------------------------------

    @cached_property
    def procedures(self) -> ProcedureService:
        from contextiq.services.procedures import ProcedureService
        from contextiq.stores.dynamo.procedures import ProcedureStore

        return ProcedureService(
            ProcedureStore(self.dynamodb, self.settings.procedures_table, self.page_tokens),
            self.embedder,
            self.vector_index,
        )

    @cached_property
    def trajectories(self) -> TrajectoryService:
        from contextiq.services.trajectories import TrajectoryService
        from contextiq.stores.dynamo.trajectories import TrajectoryStore

        return TrajectoryService(
            TrajectoryStore(self.dynamodb, self.settings.procedures_table, self.page_tokens),
            self.sessions,
            self.embedder,
            self.vector_index,
        )

    @cached_property
    def procedure_jobs(self) -> ProcedureJobService:
        from contextiq.services.procedure_jobs import ProcedureJobService
        from contextiq.stores.queues import SqsQueue

        return ProcedureJobService(
            self.jobs,
            self.trajectories,
            self.sessions,
            SqsQueue(self.sqs, self.settings.procedure_learning_queue_url),
        )

    @cached_property
    def procedure_learning_worker(self) -> ProcedureLearningWorker:
        from contextiq.ai.distillers.factory import build_distiller
        from contextiq.services.procedure_jobs import ProcedureLearningWorker
        from contextiq.services.procedure_learning import ProcedureLearner

        learner = ProcedureLearner(self.procedures, self.embedder, build_distiller(self.settings))
        return ProcedureLearningWorker(self.jobs, self.trajectories, learner)

    # -- change notifications ---------------------------------------------------------------------

    @cached_property
    def webhook_store(self) -> WebhookStore:
        from contextiq.stores.dynamo.webhooks import WebhookStore

        return WebhookStore(self.dynamodb, self.settings.webhooks_table, self.page_tokens)

    @cached_property
    def webhooks(self) -> WebhookService:
        from contextiq.services.webhooks import WebhookService

        return WebhookService(self.webhook_store, self.settings.webhooks_allow_local)

    @cached_property
    def notifier(self) -> Notifier:
        from contextiq.services.webhooks import Notifier
        from contextiq.stores.eventbridge import EventBridgePublisher
        from contextiq.stores.queues import SqsQueue

        bus = self.settings.event_bus_name
        publisher = EventBridgePublisher(self._client("events"), bus) if bus else None
        return Notifier(publisher, self.webhook_store, SqsQueue(self.sqs, self.settings.webhook_delivery_queue_url))

    @cached_property
    def delivery_worker(self) -> DeliveryWorker:
        from contextiq.retry import Backoff
        from contextiq.services.webhook_delivery import DeliveryWorker

        s = self.settings
        backoff = Backoff(base=s.webhook_retry_base_seconds, cap=s.webhook_retry_cap_seconds, floor=0.5)
        return DeliveryWorker(self.webhook_store, s.webhooks_allow_local, backoff)

    # -- prompt templates and context assembly ------------------------------------------------------

    @cached_property
    def templates(self) -> TemplateService:
        from contextiq.services.templates import RENDER_LIMITS, TemplateService
        from contextiq.stores.dynamo.templates import TemplateStore
        from contextiq.templating.engine import TemplateEngine

        return TemplateService(
            TemplateStore(self.dynamodb, self.settings.templates_table, self.page_tokens),
            TemplateEngine(RENDER_LIMITS),
        )

    @cached_property
    def context(self) -> ContextService:
        from contextiq.services.context import ContextService

        return ContextService(self.session_store, self.memories, self.episodes, self.procedures, self.templates)
