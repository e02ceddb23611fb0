"""SQS queues, one per ``contextiq.definitions.QUEUES`` entry, each with its dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contextiq.definitions import QUEUES, QueueDef
from infra.components.functions import removal_policy
from infra.stages import StageConfig


@dataclass(frozen=True)
class QueuePair:
    definition: QueueDef
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue


class Queues(Construct):
    """SQS-managed SSE, TLS-only queue policies, FIFO (with a FIFO DLQ) where the definition says so."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.pairs: dict[str, QueuePair] = {}
        for definition in QUEUES:
            self.pairs[definition.logical_id] = self._pair(definition, stage)

    def _pair(self, definition: QueueDef, stage: StageConfig) -> QueuePair:
        fifo = True if definition.fifo else None
        dlq = sqs.Queue(
            self,
            f"{definition.logical_id}DeadLetter",
            fifo=fifo,
            retention_period=Duration.days(definition.dlq_retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy(stage),
        )
        queue = sqs.Queue(
            self,
            definition.logical_id,
            fifo=fifo,
            content_based_deduplication=True if definition.content_based_deduplication else None,
            visibility_timeout=Duration.seconds(definition.visibility_timeout_seconds),
            retention_period=Duration.days(definition.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=definition.max_receive_count, queue=dlq),
            removal_policy=removal_policy(stage),
        )
        return QueuePair(definition, queue, dlq)

    def queue(self, setting: str) -> QueuePair:
        """The queue whose URL goes into the ``Settings`` field ``setting``."""
        for pair in self.pairs.values():
            if pair.definition.setting == setting:
                return pair
        raise KeyError(f"no queue for setting {setting!r}")
