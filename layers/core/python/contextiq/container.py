"""Builds the adapters and services from Settings, lazily, once per process (a warm Lambda reuses them)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from contextiq.config import Settings
from contextiq.observability import count
from contextiq.services.sessions import SessionService
from contextiq.stores.dynamo.api_keys import ApiKeyStore
from contextiq.stores.dynamo.sessions import SessionStore

if TYPE_CHECKING:  # imported lazily below: each function's cold start pays only for what it uses
    from contextiq.services.memories import MemoryService
    from contextiq.stores.dynamo.memories import MemoryStore

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64)


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.settings.region, config=_BOTO_CONFIG)  # type: ignore[call-overload]

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        return ApiKeyStore(
            self.settings.api_keys_table, self.dynamodb, cache_seconds=self.settings.api_key_cache_seconds
        )

    @cached_property
    def idempotency(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from contextiq.api.idempotency import IdempotentRunner

        persistence = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table, boto3_client=self.dynamodb)
        return IdempotentRunner(persistence, self.settings.idempotency_expiry_seconds)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(
            SessionStore(self.dynamodb, self.settings.sessions_table),
            on_event_appended=lambda _tenant, _event: count("EventsAppended"),
        )

    @cached_property
    def embedder(self) -> Any:
        from contextiq.ai.embedders.factory import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def vector_index(self) -> Any:
        from contextiq.stores.vector.factory import build_vector_index, index_info_for

        return build_vector_index(self.settings, index_info_for(self.embedder))

    @cached_property
    def memory_store(self) -> MemoryStore:
        from contextiq.stores.dynamo.memories import MemoryStore

        return MemoryStore(self.dynamodb, self.settings.memories_table)

    @cached_property
    def memories(self) -> MemoryService:
        from contextiq.services.memories import MemoryService

        return MemoryService(self.memory_store, self.embedder, self.vector_index)

    @cached_property
    def jobs(self) -> Any:
        from contextiq.stores.dynamo.jobs import JobStore

        return JobStore(self.dynamodb, self.settings.jobs_table)

    @cached_property
    def generation(self) -> Any:
        from contextiq.services.generation import GenerationService
        from contextiq.stores.queues import SqsQueue

        return GenerationService(self.jobs, self.sessions, SqsQueue(self.sqs, self.settings.extraction_queue_url))

    @cached_property
    def extraction_worker(self) -> Any:
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
    def consolidation_worker(self) -> Any:
        from contextiq.ai.extractors.factory import build_decider
        from contextiq.services.generation import ConsolidationWorker

        return ConsolidationWorker(self.jobs, self.memories, build_decider(self.settings))
