"""UsageForwarder on the Kinesis UsageStream: PutRecords in calls of at most 500 records and 5 MiB,
records Kinesis rejects (throttled shards) retried with backoff, partition key = tenant."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.submission import ForwardFailure
from budget_core.platform.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
ATTEMPTS = 3


class KinesisUsageForwarder:
    def __init__(self, client: KinesisClient, stream_name: str) -> None:
        self._client = client
        self._stream = stream_name

    def forward(self, events: Sequence[tuple[int, UsageEvent]]) -> list[ForwardFailure]:
        failures: list[ForwardFailure] = []
        call: list[tuple[int, PutRecordsRequestEntryTypeDef]] = []
        size = 0
        for index, event in events:
            data = event.model_dump_json(exclude_none=True).encode()
            entry: PutRecordsRequestEntryTypeDef = {"Data": data, "PartitionKey": event.tenant_id}
            entry_size = len(data) + len(event.tenant_id)
            if call and (len(call) == MAX_RECORDS_PER_CALL or size + entry_size > MAX_BYTES_PER_CALL):
                failures += self._put(call)
                call, size = [], 0
            call.append((index, entry))
            size += entry_size
        if call:
            failures += self._put(call)
        return failures

    def _put(self, pending: list[tuple[int, PutRecordsRequestEntryTypeDef]]) -> list[ForwardFailure]:
        last_error = "not sent"
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt + random.uniform(0, 0.05))  # noqa: S311 - jitter
            try:
                response = self._client.put_records(StreamName=self._stream, Records=[e for _, e in pending])
            except (ClientError, BotoCoreError) as error:
                last_error = str(error)
                logger.warning("PutRecords failed", extra={"error": last_error, "records": len(pending)})
                continue
            results = response["Records"]
            rejected = [(p, r) for p, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not rejected:
                return []
            last_error = str(rejected[0][1].get("ErrorMessage") or rejected[0][1].get("ErrorCode"))
            pending = [p for p, _ in rejected]
        return [
            ForwardFailure(index, "stream_unavailable", f"retry later: {last_error}") for index, _ in pending
        ]
