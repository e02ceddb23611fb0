"""Tables and queues, written once.

The CDK constructs (``infra/``) and the local bootstrap (``contextiq.local``) both build their
resources from these definitions, so the local runtime and the cloud cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

KeyType = Literal["S", "N"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    partition_key: Key
    sort_key: Key | None = None


@dataclass(frozen=True)
class TableDef:
    """One DynamoDB table. ``setting`` is the ``Settings`` field (and env var) that carries its name."""

    logical_id: str
    setting: str
    partition_key: Key
    sort_key: Key | None = None
    indexes: tuple[GlobalIndex, ...] = ()
    ttl_attribute: str | None = None
    stream: bool = False


@dataclass(frozen=True)
class QueueDef:
    """One SQS queue and its dead-letter queue."""

    logical_id: str
    setting: str
    fifo: bool = False
    visibility_timeout_seconds: int = 180
    # AWS: "set the maxReceiveCount on the source queue's redrive policy to at least 5" for a Lambda
    # event source, so a message that only met throttling or a cold, slow start is not sent to the DLQ
    # (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). The worker marks the
    # job FAILED on the last delivery, so a job still ends FAILED with its reason.
    max_receive_count: int = 5
    retention_days: int = 4
    dlq_retention_days: int = 14
    content_based_deduplication: bool = field(default=False)


# Sessions of one user (and app): gsi1pk = T#<tenant>#U#<user_id>, gsi1sk = A#<app_name>#<session_id>.
SESSIONS_BY_USER = GlobalIndex("by_user", Key("gsi1pk"), Key("gsi1sk"))
# Live memories of one scope: gsi1pk = T#<tenant>#SC#<scope_key>, gsi1sk = <memory_id>.
MEMORIES_BY_SCOPE = GlobalIndex("by_scope", Key("gsi1pk"), Key("gsi1sk"))

SESSIONS_TABLE = TableDef(
    logical_id="SessionsTable",
    setting="sessions_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    indexes=(SESSIONS_BY_USER,),
    ttl_attribute="expire_at",
    stream=True,  # events -> the indexer (episodes); session delete/TTL removes them from the index
)

MEMORIES_TABLE = TableDef(
    logical_id="MemoriesTable",
    setting="memories_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    indexes=(MEMORIES_BY_SCOPE,),
    ttl_attribute="expire_at",
    stream=True,
)

JOBS_TABLE = TableDef(
    logical_id="JobsTable",
    setting="jobs_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    ttl_attribute="expire_at",
    stream=True,  # a job finishing -> job.succeeded / job.failed notifications (functions/notifier)
)

# Powertools idempotency's default schema: partition key ``id``, TTL attribute ``expiration``.
IDEMPOTENCY_TABLE = TableDef(
    logical_id="IdempotencyTable",
    setting="idempotency_table",
    partition_key=Key("id"),
    ttl_attribute="expiration",
)

# API key hash -> tenant. Written by scripts/api_keys.py (cloud) and by `contextiq local` (local).
API_KEYS_TABLE = TableDef(
    logical_id="ApiKeysTable",
    setting="api_keys_table",
    partition_key=Key("pk"),
)

# Procedural memory: procedures (+ revisions) and trajectories, in key spaces of one table
# (stores/dynamo/procedures.py, stores/dynamo/trajectories.py); the stream feeds the index.
PROCEDURES_TABLE = TableDef(
    logical_id="ProceduresTable",
    setting="procedures_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    indexes=(GlobalIndex("by_scope", Key("gsi1pk"), Key("gsi1sk")),),
    ttl_attribute="expire_at",
    stream=True,
)

# Webhook subscriptions and their delivery log (stores/dynamo/webhooks.py).
WEBHOOKS_TABLE = TableDef(
    logical_id="WebhooksTable",
    setting="webhooks_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    ttl_attribute="expire_at",
)

# Prompt templates: the latest version of each (one partition per tenant) and every version, immutable
# (stores/dynamo/templates.py). No stream: nothing is derived from templates.
TEMPLATES_TABLE = TableDef(
    logical_id="TemplatesTable",
    setting="templates_table",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    ttl_attribute="expire_at",
)

TABLES: tuple[TableDef, ...] = (
    SESSIONS_TABLE,
    MEMORIES_TABLE,
    JOBS_TABLE,
    IDEMPOTENCY_TABLE,
    API_KEYS_TABLE,
    PROCEDURES_TABLE,
    WEBHOOKS_TABLE,
    TEMPLATES_TABLE,
)

# Tables whose stream the notifier reads (memory, procedure and job changes -> ChangeEvents).
NOTIFYING_TABLES: tuple[TableDef, ...] = (MEMORIES_TABLE, PROCEDURES_TABLE, JOBS_TABLE)

EXTRACTION_QUEUE = QueueDef(
    logical_id="ExtractionQueue",
    setting="extraction_queue_url",
    visibility_timeout_seconds=360,
)

# FIFO: MessageGroupId = tenant + scope, so one scope has one consolidating writer at a time.
CONSOLIDATION_QUEUE = QueueDef(
    logical_id="ConsolidationQueue",
    setting="consolidation_queue_url",
    fifo=True,
    visibility_timeout_seconds=360,
)

# FIFO: MessageGroupId = tenant + scope, so one scope has one procedure-learning writer at a time.
PROCEDURE_LEARNING_QUEUE = QueueDef(
    logical_id="ProcedureLearningQueue",
    setting="procedure_learning_queue_url",
    fifo=True,
    visibility_timeout_seconds=360,
)

# FIFO: MessageGroupId = webhook + resource, so one memory's deliveries to one webhook go out in version
# order, one at a time. Each receive is one attempt: the worker sets the next attempt's backoff with
# ChangeMessageVisibility; after WEBHOOK_MAX_ATTEMPTS receives SQS dead-letters it.
WEBHOOK_DELIVERY_QUEUE = QueueDef(
    logical_id="WebhookDeliveryQueue",
    setting="webhook_delivery_queue_url",
    fifo=True,
    visibility_timeout_seconds=180,
    max_receive_count=8,  # = limits.WEBHOOK_MAX_ATTEMPTS (tests/unit/test_notifications.py checks)
)

# The queues of a job's pipeline (the job sweeper's staleness bound sums over them).
JOB_QUEUES: tuple[QueueDef, ...] = (EXTRACTION_QUEUE, CONSOLIDATION_QUEUE, PROCEDURE_LEARNING_QUEUE)
# Standard: generation policies' idle checks, each sent with a DelaySeconds (docs/generation-policies.md).
GENERATION_IDLE_QUEUE = QueueDef(
    logical_id="GenerationIdleQueue",
    setting="generation_idle_queue_url",
    visibility_timeout_seconds=180,
)

QUEUES: tuple[QueueDef, ...] = (*JOB_QUEUES, WEBHOOK_DELIVERY_QUEUE, GENERATION_IDLE_QUEUE)


def local_resource_name(logical_id: str, stage: str = "local") -> str:
    """Physical name used by the local runtime (the cloud lets CloudFormation name resources)."""
    kebab = "".join("-" + c.lower() if c.isupper() else c for c in logical_id).lstrip("-")
    return f"contextiq-{stage}-{kebab}"
