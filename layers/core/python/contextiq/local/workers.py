"""Queue pollers for the local runtime: receive from moto SQS, build the Lambda SQS event, call the
same handler module the cloud runs, delete what succeeded (as the SQS event source mapping does with
ReportBatchItemFailures), and let failures come back after a short visibility timeout.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from contextiq.observability import logger

FUNCTIONS_DIR = Path(os.environ.get("CONTEXTIQ_FUNCTIONS_DIR", Path(__file__).resolve().parents[5] / "functions"))
RETRY_AFTER_SECONDS = 1  # locally, a failed message comes back quickly (the cloud waits VisibilityTimeout)
# Functions that set a failed message's visibility themselves (the webhook backoff): left as they set it.
OWN_VISIBILITY = frozenset({"webhook_delivery"})


@dataclass
class LambdaContextStub:
    function_name: str
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:local"
    aws_request_id: str = ""
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


_LOADING = threading.RLock()


def load_function(name: str) -> ModuleType:
    """The function's handler module, imported once. Pollers run in threads: the module is registered in
    ``sys.modules`` before its body runs, so without the lock a second poller could get it half-imported
    (``no attribute 'handler'``) and its thread would die."""
    path = FUNCTIONS_DIR / name / "handler.py"
    module_name = f"contextiq_functions_{name}"
    with _LOADING:
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        return module


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for received messages (the shape the event source mapping delivers)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": os.environ.get("AWS_REGION", "us-east-1"),
            }
            for m in messages
        ]
    }


def poll_once(sqs: Any, queue_url: str, function: str, wait_seconds: int = 1) -> int:
    """Receive one batch, invoke the function, settle the messages. Returns how many were received."""
    resp = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = resp.get("Messages", [])
    if not messages:
        return 0
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handler = load_function(function).handler
    try:
        result = handler(sqs_event(messages, arn), LambdaContextStub(function, aws_request_id=str(uuid.uuid4())))
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
    except Exception:
        logger.exception("local worker invocation failed", extra={"function": function})
        failed = {m["MessageId"] for m in messages}
    for m in messages:
        if m["MessageId"] in failed and function in OWN_VISIBILITY:
            continue
        if m["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=RETRY_AFTER_SECONDS
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return len(messages)


def drain(sqs: Any, queues: list[tuple[str, str]], max_rounds: int = 50) -> None:
    """Poll every queue until all are empty (tests): at most ``max_rounds`` passes."""
    for _ in range(max_rounds):
        if not sum(poll_once(sqs, url, fn, wait_seconds=0) for url, fn in queues):
            return


def start_workers(stop: threading.Event) -> list[threading.Thread]:
    """One poller thread per worker queue, until ``stop`` is set."""
    from contextiq.config import Settings
    from contextiq.container import Container

    settings = Settings()
    sqs = Container(settings).sqs
    plan = [
        (settings.extraction_queue_url, "extraction"),
        (settings.consolidation_queue_url, "consolidation"),
        (settings.procedure_learning_queue_url, "procedure_learning"),
        (settings.webhook_delivery_queue_url, "webhook_delivery"),
        (settings.generation_idle_queue_url, "generation_policy"),
    ]

    def loop(url: str, function: str) -> None:
        while not stop.is_set():
            try:
                poll_once(sqs, url, function)
            except Exception:
                logger.exception("local poller error", extra={"function": function})
                stop.wait(1)

    threads = [threading.Thread(target=loop, args=p, name=f"poller-{p[1]}", daemon=True) for p in plan if p[0]]
    from contextiq.local.streams import StreamPoller

    # One poller per consumer, each with its own shard positions, as each event source mapping has in the cloud.
    for poller in StreamPoller.all_for_settings(settings, Container(settings).dynamodb):
        threads.append(threading.Thread(target=poller.run, args=(stop,), name=f"poller-{poller.function}", daemon=True))
    for thread in threads:
        thread.start()
    return threads
