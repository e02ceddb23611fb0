"""SQS behind a small interface (the generation services never see boto3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class MessageQueue(Protocol):
    def send(self, message: BaseModel, group_id: str | None = None, dedup_id: str | None = None) -> None: ...


class SqsQueue:
    def __init__(self, client: SQSClient, url: str) -> None:
        self._sqs = client
        self.url = url

    def send(self, message: BaseModel, group_id: str | None = None, dedup_id: str | None = None) -> None:
        if not self.url:
            raise RuntimeError("queue URL is not configured (CONTEXTIQ_*_QUEUE_URL)")
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": message.model_dump_json()}
        if group_id is not None:
            kwargs["MessageGroupId"] = group_id
        if dedup_id is not None:
            kwargs["MessageDeduplicationId"] = dedup_id
        self._sqs.send_message(**kwargs)

    def send_delayed(self, message: BaseModel, delay_seconds: int) -> None:
        """Deliver ``message`` after ``delay_seconds`` (0-900: SQS's per-message DelaySeconds; standard queues)."""
        if not self.url:
            raise RuntimeError("queue URL is not configured (CONTEXTIQ_*_QUEUE_URL)")
        self._sqs.send_message(QueueUrl=self.url, MessageBody=message.model_dump_json(), DelaySeconds=delay_seconds)
