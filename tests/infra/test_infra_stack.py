"""Assertions on the synthesized ContextIQ-<stage> templates (one synth per stage per session)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from contextiq.config import Settings
from contextiq.definitions import QUEUES, TABLES
from infra.components.api import ROUTES
from infra.nag import REASONS, STAR_RESOURCE_ACTIONS
from infra.stages import STAGES
from tests.infra.support import ROOT, Synth

# One xdist worker runs every template test, so each stage is synthesized once (`make test` uses -n 2).
pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

FUNCTION_SETTINGS: dict[str, set[str]] = {
    "sessions": {
        "stage",
        "sessions_table",
        "jobs_table",  # DELETE with on_session_delete submits the final generation job
        "extraction_queue_url",
        "idempotency_table",
        "api_keys_table",
        "page_token_secret_arn",
    },
    "generation_policy": {
        "stage",
        "sessions_table",
        "jobs_table",
        "extraction_queue_url",
        "generation_idle_queue_url",
    },
    "memories": {
        "stage",
        "memories_table",
        "sessions_table",
        "procedures_table",
        "templates_table",
        "idempotency_table",
        "api_keys_table",
        "page_token_secret_arn",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
    },
    "jobs": {
        "stage",
        "jobs_table",
        "sessions_table",
        "extraction_queue_url",
        "idempotency_table",
        "api_keys_table",
        "page_token_secret_arn",
    },
    "sweeper": {"stage", "jobs_table"},
    "webhooks": {"stage", "webhooks_table", "idempotency_table", "api_keys_table", "page_token_secret_arn"},
    "notifier": {"stage", "event_bus_name", "webhooks_table", "webhook_delivery_queue_url"},
    "webhook_delivery": {"stage", "webhooks_table", "webhook_delivery_queue_url", "page_token_secret_arn"},
    "templates": {"stage", "templates_table", "idempotency_table", "api_keys_table", "page_token_secret_arn"},
    "authorizer": {"stage", "api_keys_table", "api_key_cache_seconds"},
    "extraction": {
        "stage",
        "sessions_table",
        "jobs_table",
        "idempotency_table",
        "consolidation_queue_url",
        "page_token_secret_arn",
        "extractor",
        "extraction_model_id",
    },
    "consolidation": {
        "stage",
        "memories_table",
        "jobs_table",
        "idempotency_table",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
        "extractor",
        "extraction_model_id",
    },
    "indexer": {
        "stage",
        "memories_table",
        "sessions_table",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
    },
}
FUNCTION_SETTINGS |= {
    "procedures": {
        "stage",
        "page_token_secret_arn",
        "procedures_table",
        "sessions_table",
        "jobs_table",
        "procedure_learning_queue_url",
        "idempotency_table",
        "api_keys_table",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
    },
    "procedure_learning": {
        "stage",
        "procedures_table",
        "sessions_table",
        "jobs_table",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
        "extractor",
        "extraction_model_id",
    },
    "procedure_indexer": {
        "stage",
        "procedures_table",
        "embedder",
        "embedding_model_id",
        "embedding_dimensions",
        "vector_index",
        "opensearch_endpoint",
        "opensearch_index",
        "opensearch_service",
    },
}
OPENSEARCH_USERS = {"memories", "consolidation", "indexer", "procedures", "procedure_learning", "procedure_indexer"}
# Procedural memory's workers are ProceduralWorkers/<Id> (infra/components/procedural.py).
PROCEDURAL_WORKERS = {"Learning": "procedure_learning", "Indexer": "procedure_indexer"}
# Change notifications are Notifications/<Id> (infra/components/notifications.py).
NOTIFICATION_FUNCTIONS = {"Notifier": "notifier", "Delivery": "webhook_delivery"}
# The only managed policy in the stack (account-level API Gateway logging role; see infra/nag.py).
ALLOWED_MANAGED_POLICIES = {"AmazonAPIGatewayPushToCloudWatchLogs"}


# -- helpers -----------------------------------------------------------------------------------------


def functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """function name -> AWS::Lambda::Function resource (construct ids Api/<Name>, Workers/<Name> and
    ProceduralWorkers/<Id>)."""
    found = {}
    for logical_id, resource in synth.resources("AWS::Lambda::Function").items():
        match = re.match(r"^(?:Api|Workers)([A-Z][a-z]+)Function[0-9A-F]{8}$", logical_id)
        procedural = re.match(r"^ProceduralWorkers([A-Z][a-z]+)Function[0-9A-F]{8}$", logical_id)
        notifying = re.match(r"^Notifications([A-Z][a-z]+)Function[0-9A-F]{8}$", logical_id)
        if re.match(r"^GenerationPoliciesPolicyFunction[0-9A-F]{8}$", logical_id):
            found["generation_policy"] = resource | {"LogicalId": logical_id}
            continue
        assert match or procedural or notifying, f"unexpected function {logical_id}"
        if notifying:
            found[NOTIFICATION_FUNCTIONS[notifying.group(1)]] = resource | {"LogicalId": logical_id}
            continue
        name = match.group(1).lower() if match else PROCEDURAL_WORKERS[procedural.group(1)]  # type: ignore[union-attr]
        found[name] = resource | {"LogicalId": logical_id}
    return found


def role_logical_id(function: dict[str, Any]) -> str:
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def role_statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_on(statements: list[dict[str, Any]], resource_fragment: str) -> set[str]:
    out: set[str] = set()
    for st in statements:
        if any(resource_fragment in json.dumps(r) for r in as_list(st["Resource"])):
            out |= set(as_list(st["Action"]))
    return out


def table_resource(synth: Synth, logical_id: str) -> tuple[str, dict[str, Any]]:
    for key, resource in synth.resources("AWS::DynamoDB::Table").items():
        if re.match(rf"^Storage{logical_id}[0-9A-F]{{8}}$", key):
            return key, resource
    raise AssertionError(f"no table for {logical_id}")


def api_paths(synth: Synth) -> dict[str, str]:
    """AWS::ApiGateway::Resource logical id -> full path."""
    resources = synth.resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def routed_methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    paths = api_paths(synth)
    out = {}
    for method in synth.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        out[(path, props["HttpMethod"])] = props
    return out


# -- storage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", TABLES, ids=lambda d: d.logical_id)
def test_tables_follow_the_shared_definitions(synth: Synth, definition: Any) -> None:
    stage = STAGES[synth.stage]
    _, table = table_resource(synth, definition.logical_id)
    props = table["Properties"]
    schema = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
    expected = {definition.partition_key.name: "HASH"}
    if definition.sort_key:
        expected[definition.sort_key.name] = "RANGE"
    assert schema == expected
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}  # AWS-managed KMS key (aws/dynamodb)
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is stage.point_in_time_recovery
    if definition.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": definition.ttl_attribute, "Enabled": True}
    if definition.stream:
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    else:
        assert "StreamSpecification" not in props
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in definition.indexes}
    for index in definition.indexes:
        keys = {k["AttributeName"]: k["KeyType"] for k in indexes[index.name]["KeySchema"]}
        assert keys[index.partition_key.name] == "HASH"
    if stage.retain_data:
        assert props["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    else:
        assert not props.get("DeletionProtectionEnabled")
        assert table["DeletionPolicy"] == "Delete"


def test_prod_retains_data_and_dev_does_not(synthesized: dict[str, Synth]) -> None:
    prod, dev = synthesized["prod"].template, synthesized["dev"].template
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::OpenSearchService::Domain", "AWS::Logs::LogGroup"):
        assert {r["DeletionPolicy"] for r in prod["Resources"].values() if r["Type"] == kind} == {"Retain"}
        assert {r["DeletionPolicy"] for r in dev["Resources"].values() if r["Type"] == kind} == {"Delete"}


@pytest.mark.parametrize("definition", QUEUES, ids=lambda d: d.logical_id)
def test_queues_have_dead_letter_queues(synth: Synth, definition: Any) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    key = next(k for k in queues if re.match(rf"^Queues{definition.logical_id}[0-9A-F]{{8}}$", k))
    dlq_key = next(k for k in queues if re.match(rf"^Queues{definition.logical_id}DeadLetter[0-9A-F]{{8}}$", k))
    props, dlq = queues[key]["Properties"], queues[dlq_key]["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_key, "Arn"]},
        "maxReceiveCount": definition.max_receive_count,
    }
    assert props["RedrivePolicy"]["maxReceiveCount"] >= 5  # AWS guidance for Lambda event sources
    assert props["VisibilityTimeout"] == definition.visibility_timeout_seconds
    assert props["MessageRetentionPeriod"] == definition.retention_days * 86400
    assert dlq["MessageRetentionPeriod"] == definition.dlq_retention_days * 86400
    assert props.get("FifoQueue", False) is definition.fifo
    assert dlq.get("FifoQueue", False) is definition.fifo  # a FIFO queue needs a FIFO DLQ
    for queue in (props, dlq):
        assert queue["SqsManagedSseEnabled"] is True


def test_consolidation_queue_is_fifo(synth: Synth) -> None:
    fifo = [k for k, q in synth.resources("AWS::SQS::Queue").items() if q["Properties"].get("FifoQueue")]
    assert sorted(re.sub(r"[0-9A-F]{8}$", "", k) for k in fifo) == [
        "QueuesConsolidationQueue",
        "QueuesConsolidationQueueDeadLetter",
        "QueuesProcedureLearningQueue",
        "QueuesProcedureLearningQueueDeadLetter",
        "QueuesWebhookDeliveryQueue",
        "QueuesWebhookDeliveryQueueDeadLetter",
    ]


def test_every_queue_denies_insecure_transport(synth: Synth) -> None:
    queues = set(synth.resources("AWS::SQS::Queue"))
    protected = set()
    for policy in synth.resources("AWS::SQS::QueuePolicy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                protected |= {q["Ref"] for q in policy["Properties"]["Queues"]}
    assert protected == queues


# -- functions ---------------------------------------------------------------------------------------


def test_functions_runtime_tracing_and_sizing(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    found = functions(synth)
    assert set(found) == set(FUNCTION_SETTINGS)
    log_groups = synth.resources("AWS::Logs::LogGroup")
    all_layers = synth.resources("AWS::Lambda::LayerVersion")
    auth = {k for k, v in all_layers.items() if "PyJWT" in v["Properties"]["Description"]}
    layers = set(all_layers) - auth
    assert len(layers) == 2 and len(auth) == 1  # deps + core everywhere; auth for the authorizer alone
    for name, fn in found.items():
        props = fn["Properties"]
        cfg = stage.functions[name]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "handler.handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["MemorySize"] == cfg.memory_mb
        assert props["Timeout"] == cfg.timeout_seconds
        assert props.get("ReservedConcurrentExecutions") == cfg.reserved_concurrency
        assert {layer["Ref"] for layer in props["Layers"]} == (layers | auth if name == "authorizer" else layers)
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[group]["Properties"]["RetentionInDays"] == stage.log_retention_days
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == f"contextiq-{name}"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ContextIQ"
        assert env["POWERTOOLS_LOG_LEVEL"] == stage.log_level
        assert env["CONTEXTIQ_STAGE"] == stage.name


def test_function_environment_feeds_exactly_the_settings_each_function_needs(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    fields = set(Settings.model_fields)
    for name, fn in functions(synth).items():
        env = fn["Properties"]["Environment"]["Variables"]
        settings = {k.removeprefix("CONTEXTIQ_").lower() for k in env if k.startswith("CONTEXTIQ_")}
        assert settings <= fields, f"{name}: {settings - fields} are not contextiq.config.Settings fields"
        if stage.search.index_replicas is not None and "vector_index" in settings:  # Multi-AZ with Standby
            assert env["CONTEXTIQ_OPENSEARCH_REPLICAS"] == str(stage.search.index_replicas)  # (never mutate env)
            settings.remove("opensearch_replicas")
        assert settings == FUNCTION_SETTINGS[name], name
        if "embedder" in settings:
            assert env["CONTEXTIQ_EMBEDDER"] == "bedrock"
            assert env["CONTEXTIQ_EMBEDDING_MODEL_ID"] == "amazon.titan-embed-text-v2:0"
            assert env["CONTEXTIQ_EMBEDDING_DIMENSIONS"] == "1024"
            assert env["CONTEXTIQ_VECTOR_INDEX"] == "opensearch"
            assert env["CONTEXTIQ_OPENSEARCH_SERVICE"] == "es"
            assert env["CONTEXTIQ_OPENSEARCH_ENDPOINT"] == {
                "Fn::GetAtt": [env["CONTEXTIQ_OPENSEARCH_ENDPOINT"]["Fn::GetAtt"][0], "DomainEndpoint"]
            }
        if "extractor" in settings:
            assert env["CONTEXTIQ_EXTRACTOR"] == "bedrock"
            assert env["CONTEXTIQ_EXTRACTION_MODEL_ID"] == stage.extraction_model.model_id
            assert env["CONTEXTIQ_EXTRACTION_MODEL_ID"].startswith(("anthropic.claude", "us.anthropic.claude"))


def test_sessions_function_can_write_checkpoints_and_forks(synth: Synth) -> None:
    """Checkpoints and patches are TransactWriteItems (authorised by the actions inside them), forks are
    BatchWriteItem puts plus a conditional PutItem, all on the sessions table only."""
    statements = role_statements(synth, role_logical_id(functions(synth)["sessions"]))
    table_id = table_resource(synth, "SessionsTable")[0]
    actions = actions_on(statements, f'"{table_id}", "Arn"')
    needed = {"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert needed | {"dynamodb:Query", "dynamodb:ConditionCheckItem"} <= set(actions)


def test_least_privilege_grants(synth: Synth) -> None:
    fns = functions(synth)
    tables = {d.setting: table_resource(synth, d.logical_id)[0] for d in TABLES}
    write = "dynamodb:PutItem"
    read = "dynamodb:GetItem"
    expected_rw = {
        "sessions": {"sessions_table", "idempotency_table", "jobs_table"},
        "generation_policy": {"sessions_table", "jobs_table"},
        "memories": {"memories_table", "idempotency_table"},
        "jobs": {"jobs_table", "idempotency_table"},
        "extraction": {"jobs_table", "idempotency_table"},
        "consolidation": {"memories_table", "jobs_table", "idempotency_table"},
        "indexer": set(),
        "procedures": {"procedures_table", "jobs_table", "idempotency_table"},
        "procedure_learning": {"procedures_table", "jobs_table"},
        "procedure_indexer": set(),
        "sweeper": {"jobs_table"},
        "templates": {"templates_table", "idempotency_table"},
        "authorizer": set(),
        "webhooks": {"webhooks_table", "idempotency_table"},
        "notifier": {"webhooks_table"},  # reads subscriptions, writes the delivery log
        "webhook_delivery": set(),
    }
    expected_read_only = {
        "sessions": {"api_keys_table"},
        "generation_policy": set(),
        # event hits of /v1/events/search and /v1/recall; /v1/context's procedure search and template
        "memories": {"api_keys_table", "sessions_table", "procedures_table", "templates_table"},
        "jobs": {"sessions_table", "api_keys_table"},
        "extraction": {"sessions_table"},
        "consolidation": set(),
        "indexer": {"memories_table"},
        "procedures": {"sessions_table", "api_keys_table"},
        "procedure_learning": {"sessions_table"},
        "procedure_indexer": {"procedures_table"},
        "sweeper": set(),
        "templates": {"api_keys_table"},
        "authorizer": {"api_keys_table"},
        "webhooks": {"api_keys_table"},
        "notifier": set(),  # the streams it reads are granted apart (dynamodb:GetRecords on the stream ARNs)
        "webhook_delivery": {"webhooks_table"},  # GetItem + UpdateItem only (tests/infra/test_notifications_stack.py)
    }
    for name, fn in fns.items():
        statements = role_statements(synth, role_logical_id(fn))
        for setting, table_id in tables.items():
            actions = actions_on(statements, f'"{table_id}", "Arn"')
            if setting in expected_rw[name]:
                assert write in actions and read in actions, (name, setting)
            elif setting in expected_read_only[name]:
                assert read in actions and write not in actions, (name, setting)
            else:
                assert not actions, (name, setting, actions)
        queue_sends = {json.dumps(st["Resource"]) for st in statements if "sqs:SendMessage" in as_list(st["Action"])}
        expected_queue = {
            "sessions": "ExtractionQueue",
            "jobs": "ExtractionQueue",
            "extraction": "ConsolidationQueue",
            "indexer": "IndexerDeadLetter",
            "procedures": "ProcedureLearningQueue",
            "procedure_indexer": "IndexerDeadLetter",
        }
        if name == "notifier":
            sends = " ".join(queue_sends)  # the delivery queue, and its stream sources' on-failure destination
            assert sends.count("Fn::GetAtt") == 2, sends
            assert "NotifierDeadLetter" in sends and "WebhookDeliveryQueue" in sends, sends
        elif name == "generation_policy":  # jobs, re-armed idle checks, failed stream records
            sent_to = " ".join(queue_sends)
            assert sent_to.count('"Arn"') == 3, sent_to
            for queue in ("ExtractionQueue", "GenerationIdleQueue", "GenerationPoliciesStreamDeadLetter"):
                assert queue in sent_to, (queue, sent_to)
        elif name in expected_queue:
            assert len(queue_sends) == 1 and expected_queue[name] in queue_sends.pop(), name
        else:
            assert not queue_sends, name
        es_actions = {a for st in statements for a in as_list(st["Action"]) if a.startswith("es:")}
        assert bool(es_actions) is (name in OPENSEARCH_USERS), name
        if name in ("memories", "procedures", "procedure_learning"):
            assert es_actions == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"}, name
        if name in ("indexer", "procedure_indexer"):
            assert "es:ESHttpDelete" in es_actions
        assert not any("/_msearch" in json.dumps(st["Resource"]) for st in statements), name  # index-scoped only


def test_bedrock_invoke_is_limited_to_the_stage_models(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    embed, extract = stage.embedding_model.model_id, stage.extraction_model.foundation_model_id
    expected = {
        "memories": {embed},
        "extraction": {extract},
        "consolidation": {embed, extract},
        "indexer": {embed},
        "sessions": set(),
        "jobs": set(),
        "procedures": {embed},
        "procedure_learning": {embed, extract},
        "procedure_indexer": set(),  # indexes the stored vectors, never embeds
        "sweeper": set(),
        "templates": set(),
        "authorizer": set(),
        "webhooks": set(),
        "notifier": set(),
        "webhook_delivery": set(),
        "generation_policy": set(),
    }
    for name, fn in functions(synth).items():
        statements = role_statements(synth, role_logical_id(fn))
        bedrock = [st for st in statements if any(str(a).startswith("bedrock:") for a in as_list(st["Action"]))]
        models = set()
        for st in bedrock:
            assert as_list(st["Action"]) == ["bedrock:InvokeModel"]
            for resource in as_list(st["Resource"]):
                text = json.dumps(resource)
                assert "*" not in text
                models.add(re.search(r"(?:foundation-model|inference-profile)/([^\"]+)\"", text).group(1))
        assert {m.split(".", 1)[1] if m.startswith("us.") else m for m in models} == expected[name], name


def test_event_sources_report_partial_failures(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    fns = {fn["LogicalId"]: name for name, fn in functions(synth).items()}
    by_function = {fns[m["Properties"]["FunctionName"]["Ref"]]: m["Properties"] for m in mappings}
    assert set(by_function) == {
        "extraction", "consolidation", "indexer", "procedure_learning", "procedure_indexer", "notifier", "webhook_delivery",
        "generation_policy",
    }  # fmt: skip
    policy = [m["Properties"] for m in mappings if fns[m["Properties"]["FunctionName"]["Ref"]] == "generation_policy"]
    (stream,) = [p for p in policy if "StreamArn" in json.dumps(p["EventSourceArn"])]
    (idle,) = [p for p in policy if "GenerationIdleQueue" in json.dumps(p["EventSourceArn"])]
    assert "StorageSessionsTable" in json.dumps(stream["EventSourceArn"])
    assert stream["FunctionResponseTypes"] == idle["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True and stream["StartingPosition"] == "LATEST"
    assert stream["MaximumRetryAttempts"] == stage.indexer.retry_attempts
    assert "GenerationPoliciesStreamDeadLetter" in json.dumps(stream["DestinationConfig"]["OnFailure"]["Destination"])
    assert json.loads(stream["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "dynamodb": {"Keys": {"sk": {"S": ["SESSION"]}}}
    }
    for name in ("extraction", "consolidation"):
        props, cfg = by_function[name], getattr(stage, name)
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ScalingConfig"] == {"MaximumConcurrency": cfg.max_concurrency}
        assert props["BatchSize"] == cfg.batch_size
    assert "ConsolidationQueue" in json.dumps(by_function["consolidation"]["EventSourceArn"])
    indexers = [m["Properties"] for m in mappings if fns[m["Properties"]["FunctionName"]["Ref"]] == "indexer"]
    streams = set()
    for indexer in indexers:  # one per streamed table: memories, and sessions (events -> episodes)
        assert indexer["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert indexer["BisectBatchOnFunctionError"] is True
        assert indexer["MaximumRetryAttempts"] == stage.indexer.retry_attempts
        assert indexer["StartingPosition"] == "TRIM_HORIZON"
        assert "IndexerDeadLetter" in json.dumps(indexer["DestinationConfig"]["OnFailure"]["Destination"])
        assert indexer["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
        streams.add(indexer["EventSourceArn"]["Fn::GetAtt"][0])
    assert len(indexers) == 2
    assert {s.split("Table")[0].split("Storage")[-1] for s in streams} == {"Memories", "Sessions"}, streams
    learning, procedure_indexer = by_function["procedure_learning"], by_function["procedure_indexer"]
    assert learning["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert learning["ScalingConfig"] == {"MaximumConcurrency": stage.consolidation.max_concurrency}
    assert "ProcedureLearningQueue" in json.dumps(learning["EventSourceArn"])
    assert procedure_indexer["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert procedure_indexer["BisectBatchOnFunctionError"] is True
    assert "StorageProceduresTable" in json.dumps(procedure_indexer["EventSourceArn"])
    assert "ProceduralWorkersIndexerDeadLetter" in json.dumps(
        procedure_indexer["DestinationConfig"]["OnFailure"]["Destination"]
    )


def test_worker_timeouts_fit_the_queue_visibility(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    visibility = {q.logical_id: q.visibility_timeout_seconds for q in QUEUES}
    assert stage.functions["extraction"].timeout_seconds * 6 <= visibility["ExtractionQueue"]
    assert stage.functions["consolidation"].timeout_seconds * 6 <= visibility["ConsolidationQueue"]
    assert stage.functions["procedure_learning"].timeout_seconds * 6 <= visibility["ProcedureLearningQueue"]
    assert stage.functions["generation_policy"].timeout_seconds * 6 <= visibility["GenerationIdleQueue"]


# -- API ---------------------------------------------------------------------------------------------


def test_routes_and_api_keys(synth: Synth) -> None:
    methods = {k: v for k, v in routed_methods(synth).items() if k[1] != "ANY"}  # ANY: the OPTIONS/405 mocks
    fns = {fn["LogicalId"]: name for name, fn in functions(synth).items()}
    expected = {(r.path, m): r for r in ROUTES for m in r.methods}
    assert set(methods) == set(expected)
    for key, props in methods.items():
        route = expected[key]
        assert props["ApiKeyRequired"] is route.api_key_required, key
        assert props["Integration"]["Type"] == "AWS_PROXY"
        target = json.dumps(props["Integration"]["Uri"])
        assert any(f'"{logical_id}", "Arn"' in target for logical_id, n in fns.items() if n == route.function), key
    public = {k for k, p in methods.items() if not p["ApiKeyRequired"]}
    assert public == {("/openapi.json", "GET")}
    paths = {p for p, _ in methods}
    for path in (
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/events",
        "/v1/sessions/{session_id}/state",
        "/v1/sessions/{session_id}/checkpoints",
        "/v1/sessions/{session_id}/checkpoints/{checkpoint_id}",
        "/v1/sessions/{session_id}/fork",
        "/v1/memories",
        "/v1/memories/{memory_id}",
        "/v1/memories/{memory_id}/revisions",
        "/v1/memories/search",
        "/v1/memories/generate",
        "/v1/jobs/{job_id}",
        "/v1/jobs",
        "/v1/generation-policies",
        "/v1/generation-policies/{app_name}",
        "/v1/procedures",
        "/v1/procedures/{procedure_id}",
        "/v1/procedures/{procedure_id}/feedback",
        "/v1/procedures/generate",
        "/v1/trajectories/{trajectory_id}",
        "/v1/templates",
        "/v1/templates/{template_id}",
        "/v1/templates/{template_id}/versions",
    ):
        assert path in paths


def fastapi_methods() -> dict[str, set[str]]:
    """Each path template the FastAPI app routes (every router, as ``contextiq local`` mounts them), with its
    methods, as FastAPI describes its routes (``api.openapi.full_openapi``, also the source of the local
    Allow); ``/openapi.json`` is FastAPI's own route (GET)."""
    from contextiq.api.openapi import full_openapi

    verbs = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    found = {path: {v.upper() for v in item if v in verbs} for path, item in full_openapi()["paths"].items()}
    return {"/openapi.json": {"GET"}, **found}


def test_methods_per_resource_match_the_fastapi_routes(synth: Synth) -> None:
    """What API Gateway routes per resource is what the app serves per path, so the Allow of the mocks
    (built from the same table) is the Allow the app sends locally."""
    declared: dict[str, set[str]] = {}
    for path, method in routed_methods(synth):
        if method != "ANY":
            declared.setdefault(path, set()).add(method)
    assert declared == fastapi_methods()


def test_options_and_undeclared_methods_are_mocks(synth: Synth) -> None:
    """Every routed resource has ANY -> MOCK: OPTIONS 204 + Allow, anything undeclared 405 + Allow +
    problem+json; no key, no authorizer, no Lambda."""
    methods = routed_methods(synth)
    declared: dict[str, set[str]] = {}
    for path, method in methods:
        if method != "ANY":
            declared.setdefault(path, set()).add(method)
    assert {p for p, m in methods if m == "ANY"} == set(declared)
    for path, verbs in declared.items():
        props = methods[(path, "ANY")]
        allow = ", ".join(sorted(verbs | {"OPTIONS"}))
        assert props["ApiKeyRequired"] is False, path
        assert props["AuthorizationType"] == "NONE" and "AuthorizerId" not in props, path
        integration = props["Integration"]
        assert integration["Type"] == "MOCK"
        assert integration["PassthroughBehavior"] == "NEVER"
        templates = integration["RequestTemplates"]
        assert {"application/json", "text/plain", "application/x-www-form-urlencoded"} <= set(templates)
        for template in templates.values():
            assert '$context.httpMethod == "OPTIONS"' in template
            assert '{"statusCode": 204}' in template and '{"statusCode": 405}' in template
        responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
        assert set(responses) == {"204", "405"}
        assert responses["204"]["SelectionPattern"] == "204"
        assert "SelectionPattern" not in responses["405"]  # the default: whatever is not OPTIONS
        for response in responses.values():
            assert response["ResponseParameters"]["method.response.header.Allow"] == f"'{allow}'", path
        assert responses["405"]["ResponseParameters"]["method.response.header.Content-Type"] == (
            "'application/problem+json'"
        )
        body = responses["405"]["ResponseTemplates"]["application/json"]
        for variable, value in (("$context.httpMethod", "PUT"), ("$context.path", path), ("$context.requestId", "r")):
            body = body.replace(variable, value)
        problem = json.loads(body)
        assert problem["status"] == 405 and problem["type"].endswith("/method-not-allowed")
        assert problem["detail"] == f"PUT is not allowed on this path; it allows {allow}"
        declared_responses = {r["StatusCode"]: r["ResponseParameters"] for r in props["MethodResponses"]}
        assert declared_responses["204"] == {"method.response.header.Allow": True}
        assert declared_responses["405"] == {
            "method.response.header.Allow": True,
            "method.response.header.Content-Type": True,
        }


def test_mock_allow_matches_the_local_app() -> None:
    """The cloud's Allow for each resource is the local app's for a concrete path of it
    (``problems.allowed_methods``, which picks the resource API Gateway would: literal before parameter)."""
    from contextiq.api.problems import allowed_methods
    from infra.components.api import allow_header

    for route in ROUTES:
        concrete = re.sub(r"{\w+}", "x1", route.path)
        assert allow_header(route.methods) == ", ".join(allowed_methods(concrete)), route.path


def test_api_routes_cover_the_published_openapi() -> None:
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())  # kept current by tests/unit/test_openapi_doc.py
    routed = {(r.path, m) for r in ROUTES for m in r.methods}
    verbs = {"get", "post", "put", "patch", "delete"}
    published = {(path, verb.upper()) for path, ops in spec.get("paths", {}).items() for verb in ops if verb in verbs}
    assert published - routed == set(), "operations in docs/openapi.json that API Gateway does not route"


def test_stage_logging_tracing_and_throttling(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    (api_stage,) = synth.resources("AWS::ApiGateway::Stage").values()
    props = api_stage["Properties"]
    assert props["StageName"] == stage.name
    assert props["TracingEnabled"] is True
    log_format = json.loads(
        props["AccessLogSetting"]["Format"].replace("$context.status", "200").replace("$context.responseLatency", "1")
    )
    assert {"requestId", "apiKeyId", "status", "latency"} <= set(log_format)
    (settings,) = props["MethodSettings"]
    assert settings["MetricsEnabled"] is True
    assert settings["ThrottlingRateLimit"] == stage.api_throttle.rate_limit
    assert settings["ThrottlingBurstLimit"] == stage.api_throttle.burst_limit
    (api,) = synth.resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["Name"] == f"ContextIQ-{stage.name}"


def test_usage_plan_per_stage(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    (plan,) = synth.resources("AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"] == {
        "RateLimit": stage.usage_plan.throttle.rate_limit,
        "BurstLimit": stage.usage_plan.throttle.burst_limit,
    }
    assert props["Quota"] == {"Limit": stage.usage_plan.quota_limit, "Period": stage.usage_plan.quota_period}
    (api_stage,) = props["ApiStages"]
    assert "Stage" in api_stage and "ApiId" in api_stage


def test_gateway_errors_are_problem_json(synth: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    for kind in (
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "INVALID_API_KEY",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "QUOTA_EXCEEDED",
    ):
        props = responses[kind]
        assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        body = props["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '"x"')
        problem = json.loads(body)
        assert {"type", "title", "status", "detail"} <= set(problem)
        assert str(problem["status"]) == props["StatusCode"]
    assert responses["THROTTLED"]["StatusCode"] == responses["QUOTA_EXCEEDED"]["StatusCode"] == "429"
    assert responses["INVALID_API_KEY"]["StatusCode"] == "403"


# -- search ------------------------------------------------------------------------------------------


def test_opensearch_domain(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    (domain,) = synth.resources("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]
    assert re.match(r"^OpenSearch_2\.\d+$", props["EngineVersion"])
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    cluster = props["ClusterConfig"]
    assert cluster["InstanceType"] == stage.search.instance_type
    assert cluster["InstanceCount"] == stage.search.instance_count
    assert props["EBSOptions"]["VolumeSize"] == stage.search.volume_size_gb
    assert cluster["ZoneAwarenessEnabled"] is (stage.search.availability_zone_count is not None)
    assert {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS"} <= set(props["LogPublishingOptions"])


def test_opensearch_access_policy_names_only_the_roles_that_need_it(synth: Synth) -> None:
    (domain,) = synth.resources("AWS::OpenSearchService::Domain").values()
    fns = functions(synth)
    allowed = {role_logical_id(fns[n]) for n in OPENSEARCH_USERS}
    # plus FGAC's master user (tests/infra/test_search_stack.py), on the whole domain
    master = domain["Properties"]["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"]["Fn::GetAtt"][0]
    allowed.add(master)
    principals = set()
    for st in domain["Properties"]["AccessPolicies"]["Statement"]:
        assert st["Effect"] == "Allow"
        for principal in as_list(st["Principal"]["AWS"]):
            assert isinstance(principal, dict), "no literal principals (never '*')"
            principals.add(principal["Fn::GetAtt"][0])
        for action in as_list(st["Action"]):
            assert action in {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"}
        for resource in as_list(st["Resource"]):
            assert ":domain/contextiq-" in json.dumps(resource)
    assert principals == allowed


# -- observability -----------------------------------------------------------------------------------


def test_dashboard_and_alarms(synth: Synth) -> None:
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"ContextIQ-{synth.stage}"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "EventsAppended",
        "MemoriesAdded",
        "MemoriesUpdated",
        "MemoriesDeleted",
        "ExtractionLatency",
        "SearchLatency",
        "ModelInputTokens",
        "ModelOutputTokens",
        "JobsFailed",
        "JVMMemoryPressure",
        "ClusterStatus.red",
        "ConcurrentExecutions",
        "ApproximateAgeOfOldestMessage",
    ):
        assert metric in body, metric
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()}
    prefix = f"ContextIQ-{synth.stage}-"
    assert all(name.startswith(prefix) for name in alarms)
    names = "\n".join(alarms)
    for pattern in (
        r"Api-Fault-Rate",
        r"Api-Latency-P99",
        r"ExtractionQueue-DLQ-Queue-Message-Count",
        r"ConsolidationQueue-DLQ-Queue-Message-Count",
        r"IndexerDeadLetter-Queue-Message-Count",
        r"ExtractionQueue-Queue-Message-Age",
        r"Function-indexer-Throttled",
        r"Function-extraction-Fault-Count",
        r"MemoriesTable-Write-Throttled",
        r"OpenSearch-Cluster-ClusterStatus-Red",
    ):
        assert re.search(pattern, names), pattern
    topics = set(synth.resources("AWS::SNS::Topic"))
    for name, alarm in alarms.items():
        assert [a["Ref"] for a in alarm["AlarmActions"]] == list(topics), name
        if "DLQ-Queue-Message-Count" in name or "DeadLetter" in name:
            assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_alarm_topic_is_encrypted_and_tls_only(synth: Synth) -> None:
    (topic,) = synth.resources("AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    (policy,) = synth.resources("AWS::SNS::TopicPolicy").values()
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    (key,) = synth.resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert not synth.resources("AWS::SNS::Subscription")  # no alarm e-mail configured by default


def test_outputs(synth: Synth) -> None:
    outputs = set(synth.template["Outputs"])
    expected = {"ApiUrl", "UsagePlanId", "DashboardName", "OpenSearchEndpoint", "AlarmTopicArn"}
    expected |= {f"{t.logical_id}Name" for t in TABLES}
    expected |= {f"{q.logical_id}Url" for q in QUEUES}
    expected |= {"ExtractionDlqUrl", "ConsolidationDlqUrl", "IndexerDlqUrl", "ApiKeysTableName"}
    expected |= {"GenerationIdleDlqUrl", "GenerationPolicyDlqUrl"}
    assert expected <= outputs


# -- IAM, lint, nag ----------------------------------------------------------------------------------


def iam_statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        out += [(logical_id, st) for st in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in synth.resources("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            out += [(logical_id, st) for st in policy["PolicyDocument"]["Statement"]]
    return out


def test_no_wildcard_permissions_beyond_the_allowlist(synth: Synth) -> None:
    for logical_id, st in iam_statements(synth):
        actions = [str(a) for a in as_list(st["Action"])]
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), (logical_id, actions)
        if "*" in as_list(st["Resource"]):
            assert set(actions) <= STAR_RESOURCE_ACTIONS, (logical_id, actions)
    for logical_id, role in synth.resources("AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert json.dumps(arn).rsplit("/", 1)[-1].rstrip('"]}') in ALLOWED_MANAGED_POLICIES, logical_id


def test_cdk_nag_has_no_unacknowledged_findings(synth: Synth) -> None:
    assert synth.nag_error is None, synth.nag_error
    assert synth.nag_violations == []


def test_every_acknowledgement_has_a_reason(synth: Synth) -> None:
    assert synth.acknowledgements, "expected the documented cdk-nag acknowledgements"
    known = set(REASONS.values())
    for path, rule, reason in synth.acknowledgements:
        assert rule.startswith(("AwsSolutions-", "Annotation::AwsSolutions-")), (path, rule)
        assert reason in known, (path, rule, reason)
