"""DynamoDB stream pollers for the local runtime: read moto's streams of the streamed tables, build the
Lambda DynamoDB-stream event (binary attributes base64-encoded, as Lambda delivers them), call the same
handler the cloud runs, and resume at the first failed record of a shard (``ReportBatchItemFailures``
semantics). One poller per consumer (``CONSUMERS``: ``functions/indexer`` reads every streamed table,
``functions/notifier`` the tables that announce changes, ``functions/generation_policy`` the sessions
table), each with its own shard positions, as each event source mapping on a stream has in the cloud."""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contextiq.definitions import NOTIFYING_TABLES, TABLES
from contextiq.local.workers import LambdaContextStub, load_function
from contextiq.observability import logger

FUNCTION = "indexer"
# Lambda polls each shard of a DynamoDB stream 4 times per second ("Polling and batching streams",
# https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html), and reads on at once while a batch comes back
# full (BatchSize, 100 by default).
POLL_SECONDS = 0.25
BATCH_SIZE = 100
# The stream ARN and shards of each table are looked up again this often (the cloud's event source mapping
# is bound to one stream ARN and discovers new shards on its own); before, every pass described every table.
DESCRIBE_SECONDS = 10.0
NOTIFIER = "notifier"
# consumer function -> the Settings fields of the tables whose streams it reads (None: every streamed table)
CONSUMERS: dict[str, tuple[str, ...] | None] = {
    FUNCTION: None,
    NOTIFIER: tuple(t.setting for t in NOTIFYING_TABLES),
    "generation_policy": ("sessions_table",),
}


def _lambda_json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: _lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_json(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    return {
        "eventID": record.get("eventID", str(uuid.uuid4())),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": os.environ.get("AWS_REGION", "us-east-1"),
        "dynamodb": _lambda_json(record["dynamodb"]),
        "eventSourceARN": stream_arn,
    }


class StreamPoller:
    """Polls every shard of every streamed table's stream, in order, from its start."""

    def __init__(self, dynamodb: Any, streams: Any, table_names: list[str], function: str = FUNCTION) -> None:
        self._ddb = dynamodb
        self._streams = streams
        self._tables = table_names
        self.function = function
        self._iterators: dict[tuple[str, str], str | None] = {}
        self._handled: dict[tuple[str, str], str] = {}  # sequence number of the last record handed over
        self._shards: dict[str, tuple[str, list[str]]] = {}  # table -> (stream ARN, shard ids)
        self._described = float("-inf")
        self.full = False  # the last pass read a full batch from some shard: more is waiting

    @classmethod
    def for_settings(cls, settings: Any, dynamodb: Any, function: str = FUNCTION) -> StreamPoller:
        """A poller for ``function``, over the streams of its tables (``CONSUMERS``)."""
        import boto3

        # moto intercepts the classic endpoint name (botocore's default one is not matched by moto 5.2)
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"https://streams.dynamodb.{settings.region}.amazonaws.com"
        streams = boto3.client("dynamodbstreams", region_name=settings.region, endpoint_url=endpoint)
        wanted = CONSUMERS[function]
        names = [getattr(settings, t.setting) for t in TABLES if t.stream and (wanted is None or t.setting in wanted)]
        return cls(dynamodb, streams, names, function)

    @classmethod
    def all_for_settings(
        cls, settings: Any, dynamodb: Any, functions: tuple[str, ...] = tuple(CONSUMERS)
    ) -> list[StreamPoller]:
        """A poller for each of ``functions`` (default: every consumer of ``CONSUMERS``)."""
        return [cls.for_settings(settings, dynamodb, function) for function in functions]

    def poll_once(self) -> int:
        """One pass over every shard; returns how many records were handed to the function."""
        handled = 0
        self.full = False
        try:
            for arn, shards in self._streams_of_tables():
                for shard_id in shards:
                    handled += self._poll_shard(arn, shard_id)
        except Exception:
            self._described = float("-inf")  # a table or stream may have changed: describe again
            raise
        return handled

    def _streams_of_tables(self) -> list[tuple[str, list[str]]]:
        if time.monotonic() - self._described > DESCRIBE_SECONDS:
            shards: dict[str, tuple[str, list[str]]] = {}
            for table in self._tables:
                arn = self._ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
                if arn:
                    found = self._streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", [])
                    shards[table] = (arn, [shard["ShardId"] for shard in found])
            self._shards = shards
            self._described = time.monotonic() if len(shards) == len(self._tables) else float("-inf")
        return list(self._shards.values())

    def run(
        self,
        stop: threading.Event,
        interval: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Poll until ``stop`` is set, as Lambda's event source mapping does: a pass every ``interval``
        seconds, and the next pass at once while a batch comes back full. Under a steady write load the
        records of a quarter second reach the function as one batch, instead of a pass (and an invocation)
        per record or two."""
        while not stop.is_set():
            started = clock()
            try:
                self.poll_once()
            except Exception:
                logger.exception("local stream poller error", extra={"function": self.function})
                stop.wait(1)
                continue
            if not self.full:
                stop.wait(max(0.0, interval - (clock() - started)))

    def _poll_shard(self, arn: str, shard_id: str) -> int:
        key = (arn, shard_id)
        if key not in self._iterators:
            self._iterators[key] = self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        iterator = self._iterators[key]
        if iterator is None:
            return 0
        try:
            resp = self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
        except self._streams.exceptions.ExpiredIteratorException:  # unused for 15 minutes: resume after the last
            last = self._handled.get(key)
            where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last else {}
            iterator = self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, **(where or {"ShardIteratorType": "TRIM_HORIZON"})
            )["ShardIterator"]
            resp = self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
        records = resp.get("Records", [])
        if not records:
            self._iterators[key] = resp.get("NextShardIterator")
            return 0
        event = {"Records": [lambda_record(r, arn) for r in records]}
        handler = load_function(self.function).handler
        try:
            result = handler(event, LambdaContextStub(self.function, aws_request_id=str(uuid.uuid4())))
            failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        except Exception:
            logger.exception("local stream consumer invocation failed", extra={"function": self.function})
            failed = [records[0]["dynamodb"]["SequenceNumber"]]
        if failed:  # resume at the first failed record (the cloud's bisect/retry, simplified)
            self._iterators[key] = self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=failed[0]
            )["ShardIterator"]
        else:
            self._iterators[key] = resp.get("NextShardIterator")
            self._handled[key] = records[-1]["dynamodb"]["SequenceNumber"]
            self.full = self.full or len(records) >= BATCH_SIZE  # read on at once (a failed batch waits)
        return len(records)

    def drain(self, max_rounds: int = 50) -> int:
        """Poll until nothing is left (at most ``max_rounds`` passes); returns how many records were handled."""
        total = 0
        for _ in range(max_rounds):
            handled = self.poll_once()
            if not handled:
                return total
            total += handled
        return total
