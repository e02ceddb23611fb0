"""The change-notification resources on the synthesized template: the bus, the notifier's stream sources
and dead-letter queue, the delivery queue's redrive, and IAM scoped to them."""

from __future__ import annotations

import json
from typing import Any

from contextiq import limits
from contextiq.definitions import NOTIFYING_TABLES
from infra.stages import STAGES
from tests.infra.support import Synth
from tests.infra.test_infra_stack import as_list, functions, role_logical_id, role_statements


def _mappings(synth: Synth, name: str) -> list[dict[str, Any]]:
    fn = functions(synth)[name]["LogicalId"]
    return [
        m["Properties"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"]["Ref"] == fn
    ]


def test_one_bus_per_stage(synth: Synth) -> None:
    (bus,) = synth.resources("AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == f"contextiq-{synth.stage}"
    env = functions(synth)["notifier"]["Properties"]["Environment"]["Variables"]
    assert env["CONTEXTIQ_EVENT_BUS_NAME"] == {"Ref": next(iter(synth.resources("AWS::Events::EventBus")))}


def test_the_notifier_reads_the_three_streams_with_partial_failures_and_a_dlq(synth: Synth) -> None:
    stage = STAGES[synth.stage]
    mappings = _mappings(synth, "notifier")
    tables = set()
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert m["BisectBatchOnFunctionError"] is True
        assert m["MaximumRetryAttempts"] == stage.indexer.retry_attempts
        assert "NotifierDeadLetter" in json.dumps(m["DestinationConfig"]["OnFailure"]["Destination"])
        assert m["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
        tables.add(m["EventSourceArn"]["Fn::GetAtt"][0].split("Storage")[1][:-8])
    assert tables == {d.logical_id for d in NOTIFYING_TABLES}


def test_every_stream_has_at_most_two_readers(synth: Synth) -> None:
    """AWS: no more than two processes should read one stream shard at a time."""
    readers: dict[str, int] = {}
    for m in synth.resources("AWS::Lambda::EventSourceMapping").values():
        arn = m["Properties"]["EventSourceArn"]
        if isinstance(arn, dict) and arn.get("Fn::GetAtt", [None, None])[1] == "StreamArn":
            readers[arn["Fn::GetAtt"][0]] = readers.get(arn["Fn::GetAtt"][0], 0) + 1
    assert readers and max(readers.values()) <= 2, readers


def test_deliveries_are_fifo_one_per_invocation_and_dead_lettered_after_the_last_attempt(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    (queue_id,) = [k for k in queues if k.startswith("QueuesWebhookDeliveryQueue") and "DeadLetter" not in k]
    props = queues[queue_id]["Properties"]
    assert props["FifoQueue"] is True
    assert props["RedrivePolicy"]["maxReceiveCount"] == limits.WEBHOOK_MAX_ATTEMPTS
    (mapping,) = _mappings(synth, "webhook_delivery")
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue_id in json.dumps(mapping["EventSourceArn"])


def test_put_events_only_on_the_stages_bus(synth: Synth) -> None:
    bus_id = next(iter(synth.resources("AWS::Events::EventBus")))
    for name, fn in functions(synth).items():
        statements = role_statements(synth, role_logical_id(fn))
        puts = [st for st in statements if "events:PutEvents" in as_list(st["Action"])]
        if name != "notifier":
            assert not puts, name
            continue
        (put,) = puts
        assert as_list(put["Action"]) == ["events:PutEvents"]
        assert json.dumps(put["Resource"]) == json.dumps({"Fn::GetAtt": [bus_id, "Arn"]})
    delivery = role_statements(synth, role_logical_id(functions(synth)["webhook_delivery"]))
    actions = {a for st in delivery for a in as_list(st["Action"])}
    assert "sqs:ChangeMessageVisibility" in actions and "sqs:SendMessage" not in actions
    assert "secretsmanager:GetSecretValue" in actions  # unseals the signing secrets


def test_the_workers_get_exactly_the_table_calls_they_make(synth: Synth) -> None:
    from infra.components.notifications import DELIVERY_TABLE_ACTIONS, NOTIFIER_TABLE_ACTIONS

    table = next(k for k in synth.resources("AWS::DynamoDB::Table") if k.startswith("StorageWebhooksTable"))
    for name, expected in (("notifier", NOTIFIER_TABLE_ACTIONS), ("webhook_delivery", DELIVERY_TABLE_ACTIONS)):
        statements = role_statements(synth, role_logical_id(functions(synth)[name]))
        on_table = {a for st in statements if table in json.dumps(st["Resource"]) for a in as_list(st["Action"])}
        assert on_table == set(expected), (name, on_table)
