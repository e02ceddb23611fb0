"""Create the tables and queues of ``contextiq.definitions`` through boto3 (against moto locally).

The CDK constructs build the same definitions in the cloud, so local and cloud cannot drift.
"""

from __future__ import annotations

import json
from typing import Any

from contextiq.config import Settings
from contextiq.definitions import QUEUES, TABLES, QueueDef, TableDef, local_resource_name


def table_request(table: TableDef, name: str) -> dict[str, Any]:
    keys = [table.partition_key] + ([table.sort_key] if table.sort_key else [])
    attrs = {k.name: k.type for k in keys}
    schema = [{"AttributeName": table.partition_key.name, "KeyType": "HASH"}]
    if table.sort_key:
        schema.append({"AttributeName": table.sort_key.name, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": schema,
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    indexes = []
    for gsi in table.indexes:
        attrs[gsi.partition_key.name] = gsi.partition_key.type
        index_schema = [{"AttributeName": gsi.partition_key.name, "KeyType": "HASH"}]
        if gsi.sort_key:
            attrs[gsi.sort_key.name] = gsi.sort_key.type
            index_schema.append({"AttributeName": gsi.sort_key.name, "KeyType": "RANGE"})
        indexes.append({"IndexName": gsi.name, "KeySchema": index_schema, "Projection": {"ProjectionType": "ALL"}})
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    request["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()]
    return request


def create_table(dynamodb: Any, table: TableDef, name: str) -> None:
    existing = dynamodb.list_tables().get("TableNames", [])
    if name in existing:
        return
    dynamodb.create_table(**table_request(table, name))
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )


def create_queue(sqs: Any, queue: QueueDef, stage: str) -> str:
    suffix = ".fifo" if queue.fifo else ""
    base = local_resource_name(queue.logical_id, stage)
    dlq_attrs: dict[str, str] = {"MessageRetentionPeriod": str(queue.dlq_retention_days * 86400)}
    attrs: dict[str, str] = {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.retention_days * 86400),
    }
    if queue.fifo:
        dlq_attrs["FifoQueue"] = "true"
        attrs["FifoQueue"] = "true"
        attrs["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
    dlq_url = sqs.create_queue(QueueName=f"{base}-dlq{suffix}", Attributes=dlq_attrs)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count})
    url: str = sqs.create_queue(QueueName=f"{base}{suffix}", Attributes=attrs)["QueueUrl"]
    return url


def bootstrap(dynamodb: Any, sqs: Any, settings: Settings) -> Settings:
    """Create every table and queue; return settings that point at them."""
    for table in TABLES:
        create_table(dynamodb, table, getattr(settings, table.setting))
    updates = {q.setting: create_queue(sqs, q, settings.stage) for q in QUEUES}
    return settings.model_copy(update=updates)


def dead_letter_url(queue_url: str) -> str:
    """The DLQ URL created next to ``queue_url`` by :func:`create_queue`."""
    if queue_url.endswith(".fifo"):
        return queue_url[: -len(".fifo")] + "-dlq.fifo"
    return queue_url + "-dlq"
