"""Drives UsageIngestFunction the way Lambda's event source mapping does: records are put on the
moto Kinesis stream, read back with their real sequence numbers, and handed over as Lambda's event."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import usage_ingest_app
from budget_core.domain.shared.clock import Clock
from budget_service.emulator.kinesis_events import lambda_event
from budget_service.emulator.lambda_context import LocalLambdaContext
from tests.support.aws import REGION, USAGE_STREAM_NAME, AwsResources
from tests.support.retries import retry_from_lowest_failure


@dataclass
class UsageStreamDriver:
    aws: AwsResources
    _iterator: str | None = None
    # When given, each record reaches the stream at this clock's time when put (moto stamps the
    # real time)
    clock: Clock | None = None
    _arrivals: dict[str, datetime] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def put(self, events: Iterable[dict[str, Any] | bytes]) -> None:
        entries = []
        for event in events:
            data = event if isinstance(event, bytes) else json.dumps(event).encode()
            key = event.get("tenant_id", "t") if isinstance(event, dict) else "poison"
            entries.append({"Data": data, "PartitionKey": str(key) or "t"})
        for start in range(0, len(entries), 500):
            response = self.aws.kinesis.put_records(
                StreamName=USAGE_STREAM_NAME, Records=entries[start : start + 500]
            )
            assert response.get("FailedRecordCount", 0) == 0
            if self.clock is not None:
                arrival = self.clock.now()
                for result in response["Records"]:
                    self._arrivals[result["SequenceNumber"]] = arrival

    def read_new(self) -> list[dict[str, Any]]:
        if self._iterator is None:
            shard = self.aws.kinesis.list_shards(StreamName=USAGE_STREAM_NAME)["Shards"][0]["ShardId"]
            self._iterator = self.aws.kinesis.get_shard_iterator(
                StreamName=USAGE_STREAM_NAME, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        response = self.aws.kinesis.get_records(ShardIterator=self._iterator, Limit=10000)
        self._iterator = response["NextShardIterator"]
        if self.clock is not None:
            # a record put by someone else (the API) arrived, as far as this clock knows, just now
            for record in response["Records"]:
                arrival = self._arrivals.get(record["SequenceNumber"]) or self.clock.now()
                record["ApproximateArrivalTimestamp"] = arrival
        self.delivered.extend(response["Records"])
        return list(response["Records"])

    def invoke(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Calls the real handler with ``records`` as one batch; returns its partial-failure answer."""
        event = lambda_event(records, self.aws.usage_stream_arn, REGION)
        result: dict[str, Any] = usage_ingest_app.handler(
            event, LocalLambdaContext(function_name="usage-ingest")
        )
        return result

    def deliver(self, events: Iterable[dict[str, Any] | bytes]) -> dict[str, Any]:
        """Put ``events`` on the stream and hand the new records to the handler as one batch."""
        self.put(events)
        return self.invoke(self.read_new())

    def deliver_until_done(self, records: list[dict[str, Any]], max_attempts: int = 20) -> int:
        """Plays Lambda's retry of a batch; returns the number of invocations."""
        return retry_from_lowest_failure(self.invoke, records, lambda r: r["SequenceNumber"], max_attempts)
