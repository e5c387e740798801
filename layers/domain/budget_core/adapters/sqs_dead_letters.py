"""Rejected usage records go to the ingestion dead-letter queue, with the reason and the data."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.ingestion_ports import Rejection
from budget_core.platform.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SEND_BATCH_MAX = 10
# SQS takes 256 KiB per message; a Kinesis record can be 1 MiB. Past this, the head is kept.
MAX_DATA_BYTES = 150_000


class SqsDeadLetters:
    def __init__(self, client: SQSClient, queue_url: str, source: str, now: Callable[[], datetime]) -> None:
        self._client = client
        self._queue_url = queue_url
        self._source = source
        self._now = now

    def send(self, rejections: Sequence[Rejection]) -> list[Rejection]:
        unsent: list[Rejection] = []
        for start in range(0, len(rejections), SEND_BATCH_MAX):
            chunk = list(rejections[start : start + SEND_BATCH_MAX])
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": self._body(r)} for i, r in enumerate(chunk)
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

    def _body(self, rejection: Rejection) -> str:
        data = rejection.data[:MAX_DATA_BYTES]
        return json.dumps(
            {
                "source": self._source,
                "reason": rejection.reason,
                "record_id": rejection.record_id,
                "rejected_at": self._now().isoformat(),
                "data_base64": base64.b64encode(data).decode(),
                "data_truncated": len(rejection.data) > MAX_DATA_BYTES,
            }
        )
