"""Rejected usage records go to the ingestion dead-letter queue, with the reason and the data."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.shared.clock import Clock
from budget_core.domain.usage.ports import Rejection
from budget_core.platform.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SEND_BATCH_MAX = 10
SEND_BATCH_BYTES = 900_000  # SQS takes at most 1 MiB per SendMessageBatch
# SQS takes 256 KiB per message; a Kinesis record can be 1 MiB. A record up to this size travels
# whole; a bigger one is referenced by its record id (sequence number), size and digest, with its
# first KB, so every message fits whatever the record or the reason.
MAX_DATA_BYTES = 100_000
HEAD_BYTES = 1024
MAX_REASON_CHARS = 2000


def bounded_reason(reason: str) -> str:
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return f"{reason[:MAX_REASON_CHARS]}... ({len(reason) - MAX_REASON_CHARS} more characters)"


class SqsDeadLetters:
    def __init__(self, client: SQSClient, queue_url: str, source: str, clock: Clock) -> None:
        self._client = client
        self._queue_url = queue_url
        self._source = source
        self._clock = clock

    def send(self, rejections: Sequence[Rejection]) -> list[Rejection]:
        unsent: list[Rejection] = []
        for chunk, bodies in self._batches(rejections):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)
            ]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError):
                logger.exception(
                    "dead-letter queue unreachable", extra={"records": [r.record_id for r in chunk]}
                )
                unsent.extend(chunk)
                continue
            failed = {f["Id"] for f in response.get("Failed", [])}
            unsent.extend(r for i, r in enumerate(chunk) if str(i) in failed)
        return unsent

    def _batches(self, rejections: Sequence[Rejection]) -> list[tuple[list[Rejection], list[str]]]:
        batches: list[tuple[list[Rejection], list[str]]] = []
        chunk: list[Rejection] = []
        bodies: list[str] = []
        size = 0
        for rejection in rejections:
            body = self._body(rejection)
            if chunk and (len(chunk) == SEND_BATCH_MAX or size + len(body) > SEND_BATCH_BYTES):
                batches.append((chunk, bodies))
                chunk, bodies, size = [], [], 0
            chunk.append(rejection)
            bodies.append(body)
            size += len(body)
        if chunk:
            batches.append((chunk, bodies))
        return batches

    def _body(self, rejection: Rejection) -> str:
        whole = len(rejection.data) <= MAX_DATA_BYTES
        data = rejection.data if whole else rejection.data[:HEAD_BYTES]
        body: dict[str, object] = {
            "source": self._source,
            "reason": bounded_reason(rejection.reason),
            "record_id": rejection.record_id,
            "rejected_at": self._clock.now().isoformat(),
            "data_base64": base64.b64encode(data).decode(),
            "data_truncated": not whole,
            "data_bytes": len(rejection.data),
        }
        if not whole:
            body["data_sha256"] = hashlib.sha256(rejection.data).hexdigest()
        return json.dumps(body)
