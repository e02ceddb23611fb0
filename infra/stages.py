"""Per-stage settings: one typed, frozen config per stage.

Everything that differs between dev, staging and prod lives here, so the constructs never branch on
the stage name. ``get_stage(name)`` is the only way in; an unknown name fails with the list of valid
stages. This module imports nothing from CDK so that tests and scripts can read it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from infra.access import JwtAuthConfig, NetworkConfig
from infra.local_invoke import LocalInvokeConfig

# Every Lambda function of the stack; ``functions/<name>/handler.py`` holds its entry point.
API_FUNCTIONS: tuple[str, ...] = ("sessions", "memories", "jobs", "procedures", "webhooks", "templates", "authorizer")
WORKER_FUNCTIONS: tuple[str, ...] = (
    "extraction",
    "consolidation",
    "indexer",
    "procedure_learning",
    "procedure_indexer",
    "sweeper",
    "notifier",
    "webhook_delivery",
    "generation_policy",
)
FUNCTION_NAMES: tuple[str, ...] = API_FUNCTIONS + WORKER_FUNCTIONS

# CloudWatch Logs only accepts these retention periods (days).
VALID_LOG_RETENTION_DAYS: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]

# Cross-region inference profile ids start with a geography prefix ("us.anthropic.claude-...").
_INFERENCE_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.")


def foundation_model_id(model_id: str) -> str:
    """``us.anthropic.claude-...`` -> ``anthropic.claude-...``; a plain foundation-model id unchanged."""
    return _INFERENCE_PROFILE_PREFIX.sub("", model_id, count=1)


class UnknownStageError(ValueError):
    """Raised for a stage name that is not in ``STAGES``."""


@dataclass(frozen=True)
class FunctionConfig:
    """Sizing of one Lambda function."""

    memory_mb: int
    timeout_seconds: int
    # None: no reservation (draws from the account's unreserved pool). New accounts have a tiny
    # concurrency quota and Lambda refuses reservations that leave fewer than 100 unreserved.
    reserved_concurrency: int | None = None

    def __post_init__(self) -> None:
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError(f"memory_mb must be within 128..10240, got {self.memory_mb}")
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds must be within 1..900, got {self.timeout_seconds}")
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            raise ValueError("reserved_concurrency must be >= 1 (or None for no reservation)")


@dataclass(frozen=True)
class QueueWorkerConfig:
    """An SQS event source: batch size and the event source's maximum concurrency (2..1000)."""

    batch_size: int
    max_concurrency: int

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10:
            raise ValueError("batch_size must be within 1..10 (FIFO queues allow at most 10)")
        if not 2 <= self.max_concurrency <= 1000:
            raise ValueError("SQS event source max_concurrency must be within 2..1000")


@dataclass(frozen=True)
class StreamWorkerConfig:
    """The DynamoDB stream event source of the indexer."""

    batch_size: int = 25
    retry_attempts: int = 3
    parallelization_factor: int = 1
    max_record_age_hours: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10000:
            raise ValueError("batch_size must be within 1..10000")
        if not 0 <= self.retry_attempts <= 10000:
            raise ValueError("retry_attempts must be bounded (0..10000)")
        if not 1 <= self.parallelization_factor <= 10:
            raise ValueError("parallelization_factor must be within 1..10")
        if not 1 <= self.max_record_age_hours <= 168:
            raise ValueError("max_record_age_hours must be within 1..168 (7 days)")


@dataclass(frozen=True)
class Throttle:
    rate_limit: float  # steady-state requests per second
    burst_limit: int

    def __post_init__(self) -> None:
        if self.rate_limit <= 0 or self.burst_limit <= 0:
            raise ValueError("throttle rate and burst must be positive")


@dataclass(frozen=True)
class UsagePlanConfig:
    """Per API key: throttle and quota (one usage plan per stage; every tenant key joins it)."""

    throttle: Throttle
    quota_limit: int
    quota_period: QuotaPeriod = "DAY"

    def __post_init__(self) -> None:
        if self.quota_limit <= 0:
            raise ValueError("quota_limit must be positive")


@dataclass(frozen=True)
class SearchConfig:
    """The managed OpenSearch Service domain."""

    instance_type: str
    instance_count: int
    volume_size_gb: int
    # None: a single-AZ domain (dev). 2 or 3: zone awareness across that many AZs.
    availability_zone_count: int | None = None
    dedicated_master_type: str | None = None
    dedicated_master_count: int = 0
    # Multi-AZ with Standby (docs/infrastructure.md): 3 AZs, a multiple of 3 data nodes, 3 dedicated masters,
    # and every index with 3 copies of each shard (the functions create theirs with 2 replicas).
    multi_az_with_standby: bool = False
    index_name: str = "contextiq-memories"

    def __post_init__(self) -> None:
        if not self.instance_type.endswith(".search"):
            raise ValueError("OpenSearch instance types end with '.search'")
        if self.instance_count < 1 or self.volume_size_gb < 10:
            raise ValueError("need at least one data node and 10 GB of storage")
        if self.availability_zone_count is not None:
            if self.availability_zone_count not in (2, 3):
                raise ValueError("availability_zone_count must be 2, 3 or None")
            if self.instance_count % self.availability_zone_count:
                raise ValueError("instance_count must be a multiple of availability_zone_count")
        if self.dedicated_master_type is not None and self.dedicated_master_count not in (3, 5):
            raise ValueError("dedicated masters come in 3 or 5")
        if self.multi_az_with_standby:
            if self.availability_zone_count != 3 or self.instance_count % 3:
                raise ValueError("Multi-AZ with Standby needs 3 AZs and a multiple of 3 data nodes")
            if self.dedicated_master_count != 3:
                raise ValueError("Multi-AZ with Standby needs 3 dedicated master nodes")
            if self.instance_type.startswith(("t2.", "t3.")):
                raise ValueError("Multi-AZ with Standby does not support T2/T3 instance types")

    @property
    def index_replicas(self) -> int | None:
        """Replicas per shard of the indexes the functions create; None: OpenSearch's default (1)."""
        return 2 if self.multi_az_with_standby else None


@dataclass(frozen=True)
class BedrockModel:
    """A Bedrock model the functions may invoke.

    A plain id (``amazon.titan-embed-text-v2:0``) is granted on the foundation-model ARN of the stack's
    region. A cross-region inference profile id (``us.anthropic...``) is granted on the profile ARN and
    on the foundation model in each of ``inference_profile_regions`` (no region wildcard).
    """

    model_id: str
    inference_profile_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.is_inference_profile and not self.inference_profile_regions:
            raise ValueError(f"{self.model_id} is a cross-region inference profile: list the regions it routes to")
        if not self.is_inference_profile and self.inference_profile_regions:
            raise ValueError(f"{self.model_id} is not an inference profile; drop inference_profile_regions")

    @property
    def is_inference_profile(self) -> bool:
        return bool(_INFERENCE_PROFILE_PREFIX.match(self.model_id))

    @property
    def foundation_model_id(self) -> str:
        return foundation_model_id(self.model_id)


@dataclass(frozen=True)
class WafConfig:
    """AWS WAF on the API stage: the per-IP rate-based rule (managed rule groups are the same everywhere)."""

    rate_limit: int = 2000  # requests per client IP per evaluation window
    evaluation_window_seconds: int = 300

    def __post_init__(self) -> None:
        if self.rate_limit < 10:
            raise ValueError("AWS WAF rate-based rules need a limit of at least 10")
        if self.evaluation_window_seconds not in (60, 120, 300, 600):
            raise ValueError("evaluation_window_seconds must be 60, 120, 300 or 600")


@dataclass(frozen=True)
class AlarmThresholds:
    api_5xx_rate_percent: float = 1.0  # share of requests answered 5xx, per 5 minutes
    api_p99_latency_ms: int = 3000
    queue_oldest_message_age_seconds: int = 900
    lambda_error_count: int = 5  # errors per 5 minutes, per function
    lambda_throttle_count: int = 0  # alarm when throttles exceed this, per 5 minutes
    dynamodb_throttled_requests: int = 0  # alarm when throttled events exceed this, per 5 minutes
    failed_jobs: int = 0  # alarm when more generation jobs than this end FAILED, per 5 minutes
    opensearch_disk_usage_percent: float = 75.0
    opensearch_jvm_pressure_percent: float = 85.0


@dataclass(frozen=True)
class StageConfig:
    name: str
    log_level: LogLevel
    log_retention_days: int
    # prod: RETAIN + deletion protection on tables; dev/staging: DESTROY.
    retain_data: bool
    point_in_time_recovery: bool
    functions: Mapping[str, FunctionConfig]
    extraction: QueueWorkerConfig
    consolidation: QueueWorkerConfig
    indexer: StreamWorkerConfig
    api_throttle: Throttle  # stage-wide default method throttling
    usage_plan: UsagePlanConfig
    search: SearchConfig
    # The extraction/decision model, picked per stage (see "Changing the extraction model" in
    # docs/infrastructure.md); tests/infra/test_models.py rejects ids on infra/retired_models.py.
    extraction_model: BedrockModel
    embedding_model: BedrockModel = BedrockModel("amazon.titan-embed-text-v2:0")
    embedding_dimensions: int = 1024
    alarm_email: str | None = None
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    waf: WafConfig = field(default_factory=WafConfig)
    # How long API Gateway caches the key authorizer's answer per key: also how long a revoked key can
    # keep working (docs/infrastructure.md). 0 disables the cache (one authorizer call per request).
    authorizer_cache_seconds: int = 300
    # An OIDC issuer for applications whose end users sign in; None: API keys alone (JwtAuthConfig).
    jwt: JwtAuthConfig | None = None
    # VPC placement of the domain and the functions; None: no VPC (NetworkConfig, infra/access.py).
    network: NetworkConfig | None = None
    # How often the stale-job sweeper runs (EventBridge schedule).
    job_sweep_minutes: int = 10
    # Extra IAM principals (e.g. an operator role running scripts/reindex.py) allowed on the domain.
    opensearch_extra_principal_arns: tuple[str, ...] = ()
    # Apps whose turns are not indexed as episodes: comma-separated "<tenant>/<app_name>" or "<tenant>/*"
    # (Settings.event_index_opt_out; see docs/search.md).
    event_index_opt_out: str = ""
    # Set only by scripts/sam_template.py: the `sam local invoke` variant, never deployed (infra/local_invoke.py).
    local_invoke: LocalInvokeConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "functions", MappingProxyType(dict(self.functions)))
        missing = set(FUNCTION_NAMES) - set(self.functions)
        extra = set(self.functions) - set(FUNCTION_NAMES)
        if missing or extra:
            raise ValueError(f"functions must configure exactly {FUNCTION_NAMES}: missing {missing}, extra {extra}")
        if self.log_retention_days not in VALID_LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days must be one of {VALID_LOG_RETENTION_DAYS}")
        if self.embedding_dimensions not in (256, 512, 1024):
            raise ValueError("Titan Text Embeddings V2 supports 256, 512 or 1024 dimensions")
        for name in ("extraction", "consolidation"):
            worker: QueueWorkerConfig = getattr(self, name)
            reserved = self.functions[name].reserved_concurrency
            if reserved is not None and worker.max_concurrency > reserved:
                raise ValueError(f"{name}: event source max_concurrency exceeds the reserved concurrency")
        if not 0 <= self.authorizer_cache_seconds <= 3600:
            raise ValueError("authorizer_cache_seconds must be within 0..3600 (API Gateway's limit)")
        if not 1 <= self.job_sweep_minutes <= 60:
            raise ValueError("job_sweep_minutes must be within 1..60")
        zones = self.search.availability_zone_count or 1
        if self.network is not None and self.network.max_azs < zones:
            raise ValueError(f"network.max_azs must cover the domain's {zones} availability zones")
        if self.usage_plan.throttle.rate_limit > self.api_throttle.rate_limit:
            raise ValueError("the usage plan (per key) rate cannot exceed the stage-wide rate")

    @property
    def stack_name(self) -> str:
        return f"ContextIQ-{self.name}"

    @property
    def domain_name(self) -> str:
        # 3..28 characters, lower case, starts with a letter.
        return f"contextiq-{self.name}"


# Claude Haiku 4.5 through the US cross-region inference profile: Active on Bedrock's model card
# (https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html).
# The profile routes a request from a US source region to one of these destination regions; IAM must
# allow the profile and the foundation model in each of them (inference-profiles-prereq.html).
CLAUDE_HAIKU_4_5_US = BedrockModel(
    "us.anthropic.claude-haiku-4-5-20251001-v1:0", inference_profile_regions=("us-east-1", "us-east-2", "us-west-2")
)

_API_SMALL = FunctionConfig(memory_mb=512, timeout_seconds=29)
_API_LARGE = FunctionConfig(memory_mb=1024, timeout_seconds=29)
_SWEEPER = FunctionConfig(memory_mb=256, timeout_seconds=120, reserved_concurrency=None)
_AUTHORIZER = FunctionConfig(memory_mb=256, timeout_seconds=10)
# Reads a policy and writes one claim per job: small and quick (the idle queue's visibility timeout is 6x this).
_POLICY = FunctionConfig(memory_mb=256, timeout_seconds=30)

STAGES: Mapping[str, StageConfig] = MappingProxyType(
    {
        "dev": StageConfig(
            name="dev",
            extraction_model=CLAUDE_HAIKU_4_5_US,
            log_level="DEBUG",
            log_retention_days=7,
            retain_data=False,
            point_in_time_recovery=False,
            functions={
                "sessions": _API_SMALL,
                "memories": _API_SMALL,
                "jobs": _API_SMALL,
                "procedures": _API_LARGE,
                "webhooks": _API_SMALL,
                "templates": _API_SMALL,
                "extraction": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "consolidation": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "indexer": FunctionConfig(memory_mb=512, timeout_seconds=60),
                "procedure_learning": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "procedure_indexer": FunctionConfig(memory_mb=512, timeout_seconds=60),
                "notifier": FunctionConfig(memory_mb=256, timeout_seconds=60),
                "webhook_delivery": FunctionConfig(memory_mb=256, timeout_seconds=30),
                "sweeper": _SWEEPER,
                "authorizer": _AUTHORIZER,
                "generation_policy": _POLICY,
            },
            extraction=QueueWorkerConfig(batch_size=1, max_concurrency=2),
            consolidation=QueueWorkerConfig(batch_size=1, max_concurrency=2),
            indexer=StreamWorkerConfig(batch_size=25, retry_attempts=2),
            api_throttle=Throttle(rate_limit=20, burst_limit=40),
            usage_plan=UsagePlanConfig(Throttle(rate_limit=10, burst_limit=20), quota_limit=10_000),
            search=SearchConfig(instance_type="t3.small.search", instance_count=1, volume_size_gb=10),
            alarms=AlarmThresholds(api_5xx_rate_percent=5.0, api_p99_latency_ms=5000, lambda_error_count=10),
            waf=WafConfig(rate_limit=500),
        ),
        "staging": StageConfig(
            name="staging",
            extraction_model=CLAUDE_HAIKU_4_5_US,
            log_level="INFO",
            log_retention_days=30,
            retain_data=False,
            point_in_time_recovery=True,
            functions={
                "sessions": _API_SMALL,
                "memories": _API_LARGE,
                "jobs": _API_SMALL,
                "procedures": _API_LARGE,
                "webhooks": _API_SMALL,
                "templates": _API_SMALL,
                "extraction": FunctionConfig(memory_mb=1024, timeout_seconds=60, reserved_concurrency=10),
                "consolidation": FunctionConfig(memory_mb=1024, timeout_seconds=60, reserved_concurrency=10),
                "indexer": FunctionConfig(memory_mb=512, timeout_seconds=60),
                "procedure_learning": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "procedure_indexer": FunctionConfig(memory_mb=512, timeout_seconds=60),
                "notifier": FunctionConfig(memory_mb=256, timeout_seconds=60),
                "webhook_delivery": FunctionConfig(memory_mb=256, timeout_seconds=30),
                "sweeper": _SWEEPER,
                "authorizer": _AUTHORIZER,
                "generation_policy": _POLICY,
            },
            extraction=QueueWorkerConfig(batch_size=1, max_concurrency=5),
            consolidation=QueueWorkerConfig(batch_size=1, max_concurrency=5),
            indexer=StreamWorkerConfig(batch_size=25, retry_attempts=3),
            api_throttle=Throttle(rate_limit=50, burst_limit=100),
            usage_plan=UsagePlanConfig(Throttle(rate_limit=20, burst_limit=40), quota_limit=100_000),
            search=SearchConfig(
                instance_type="t3.medium.search",
                instance_count=2,
                volume_size_gb=20,
                availability_zone_count=2,
            ),
        ),
        "prod": StageConfig(
            name="prod",
            extraction_model=CLAUDE_HAIKU_4_5_US,
            log_level="INFO",
            log_retention_days=365,
            retain_data=True,
            point_in_time_recovery=True,
            functions={
                "sessions": _API_LARGE,
                "memories": _API_LARGE,
                "jobs": _API_LARGE,
                "procedures": _API_LARGE,
                "webhooks": _API_SMALL,
                "templates": _API_SMALL,
                "extraction": FunctionConfig(memory_mb=1024, timeout_seconds=60, reserved_concurrency=20),
                "consolidation": FunctionConfig(memory_mb=1024, timeout_seconds=60, reserved_concurrency=20),
                "indexer": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "procedure_learning": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "procedure_indexer": FunctionConfig(memory_mb=1024, timeout_seconds=60),
                "notifier": FunctionConfig(memory_mb=256, timeout_seconds=60),
                "webhook_delivery": FunctionConfig(memory_mb=256, timeout_seconds=30),
                "sweeper": _SWEEPER,
                "authorizer": _AUTHORIZER,
                "generation_policy": _POLICY,
            },
            extraction=QueueWorkerConfig(batch_size=1, max_concurrency=10),
            consolidation=QueueWorkerConfig(batch_size=1, max_concurrency=10),
            indexer=StreamWorkerConfig(batch_size=50, retry_attempts=5, parallelization_factor=2),
            api_throttle=Throttle(rate_limit=500, burst_limit=1000),
            usage_plan=UsagePlanConfig(
                Throttle(rate_limit=100, burst_limit=200), quota_limit=1_000_000, quota_period="MONTH"
            ),
            search=SearchConfig(
                instance_type="r7g.large.search",
                instance_count=3,
                volume_size_gb=100,
                availability_zone_count=3,
                dedicated_master_type="m7g.large.search",
                dedicated_master_count=3,
                multi_az_with_standby=True,
            ),
            alarms=AlarmThresholds(api_5xx_rate_percent=1.0, api_p99_latency_ms=2000, lambda_error_count=3),
            waf=WafConfig(rate_limit=10_000),
        ),
    }
)


def get_stage(name: str | None) -> StageConfig:
    """The config of stage ``name``; anything else fails with the list of valid stages."""
    valid = ", ".join(STAGES)
    if not name:
        raise UnknownStageError(f"No stage given: pass -c stage=<{'|'.join(STAGES)}> (valid stages: {valid})")
    try:
        return STAGES[name]
    except KeyError:
        raise UnknownStageError(f"Unknown stage {name!r}: valid stages are {valid}") from None
