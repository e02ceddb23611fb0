"""Settings from the environment: one object, read once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contextiq.definitions import local_resource_name


class Settings(BaseSettings):
    """Every knob ContextIQ reads. Env vars are the upper-cased names with the ``CONTEXTIQ_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="CONTEXTIQ_", extra="ignore")

    stage: str = "local"
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")

    sessions_table: str = local_resource_name("SessionsTable")
    memories_table: str = local_resource_name("MemoriesTable")
    jobs_table: str = local_resource_name("JobsTable")
    idempotency_table: str = local_resource_name("IdempotencyTable")
    api_keys_table: str = local_resource_name("ApiKeysTable")
    procedures_table: str = local_resource_name("ProceduresTable")
    webhooks_table: str = local_resource_name("WebhooksTable")
    templates_table: str = local_resource_name("TemplatesTable")

    extraction_queue_url: str = ""
    consolidation_queue_url: str = ""
    procedure_learning_queue_url: str = ""
    generation_idle_queue_url: str = ""
    webhook_delivery_queue_url: str = ""

    # Change notifications (docs/notifications.md). No bus name: nothing is put on EventBridge (local).
    event_bus_name: str = ""
    # Webhook URLs may be http and resolve to loopback/private addresses (the local runtime only).
    webhooks_allow_local: bool = False
    webhook_retry_base_seconds: float = 30.0  # attempt n+1 waits ~base * 2**(n-1), capped
    webhook_retry_cap_seconds: float = 900.0

    # Providers: cloud defaults are bedrock/opensearch; `contextiq local` switches to local ones.
    embedder: Literal["bedrock", "minilm", "hashing"] = "bedrock"
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_dimensions: int = 1024
    vector_index: Literal["opensearch", "embedded"] = "opensearch"
    opensearch_endpoint: str = ""
    opensearch_index: str = "contextiq-memories"
    opensearch_service: Literal["es", "aoss"] = "es"
    # "wait_for": a write returns once searchable, so consolidation (and a client) reads its own writes.
    opensearch_refresh: Literal["false", "wait_for"] = "wait_for"
    # Replicas per shard of the indexes the code creates; None: the domain's default. 2 on a Multi-AZ with
    # Standby domain, which needs 3 copies of every shard (infra/stages.py SearchConfig.index_replicas).
    opensearch_replicas: int | None = Field(default=None, ge=0, le=5)
    extractor: Literal["bedrock", "local"] = "bedrock"
    # The cloud stack sets it per stage (infra/stages.py); this default only matters for a run against
    # real Bedrock outside the stack. A cross-region inference profile (docs/infrastructure.md).
    extraction_model_id: str = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    data_dir: Path = Path(".contextiq")

    # How long an API-key -> tenant lookup is cached in a warm Lambda.
    api_key_cache_seconds: int = 60
    idempotency_expiry_seconds: int = 3600
    # JWT authorizer (stages with ``JwtAuthConfig``; handlers/tokens.py). Empty issuer: API keys alone.
    jwt_issuer: str = ""
    jwt_audiences: str = ""  # comma-separated app client ids
    jwt_jwks_url: str = ""
    jwt_audience_claim: Literal["aud", "client_id"] = "aud"
    jwt_tenant_claim: str = "custom:tenant"
    jwt_role_claim: str = "custom:role"
    jwt_default_role: str = ""
    jwt_algorithms: str = "RS256"  # comma-separated
    jwt_jwks_cache_seconds: int = 300
    # Page tokens are encrypted and signed with a per-stage key: this value, else the Secrets Manager
    # secret named here (the cloud), else a key generated once and kept in data_dir (local).
    page_token_key: str = Field(default="", repr=False)
    page_token_secret_arn: str = ""

    # Apps whose turns are not indexed as episodes: comma-separated "<tenant>/<app_name>" ("<tenant>/*" for
    # every app of a tenant). Read by the indexer and by reindex; see docs/search.md.
    event_index_opt_out: str = ""

    def events_opted_out(self, tenant: str, app_name: str | None) -> bool:
        pairs = {p.strip() for p in self.event_index_opt_out.split(",") if p.strip()}
        return f"{tenant}/*" in pairs or (app_name is not None and f"{tenant}/{app_name}" in pairs)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
