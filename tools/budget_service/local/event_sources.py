"""Pollers that play Lambda's event source mappings for the Kinesis stream and the table stream:
batch size and batching window from template.yaml, FilterCriteria applied, partial batch responses
honoured (retry from the lowest failed record), bisect on function errors, bounded retries, and the
on-failure destination (a message with the batch's coordinates, as Lambda sends it)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from budget_service.emulator.kinesis_events import lambda_record as kinesis_lambda_record
from budget_service.emulator.table_stream_events import StreamFilter
from budget_service.emulator.table_stream_events import lambda_record as table_lambda_record
from budget_service.local.functions import FunctionError, LocalFunction
from budget_service.templates.provision import ACCOUNT_ID, CreatedResource, resolve


@dataclass(frozen=True)
class MappingConfig:
    batch_size: int
    window_seconds: float
    bisect: bool
    max_retries: int  # -1: until the record expires
    report_item_failures: bool
    filter: StreamFilter
    on_failure_arn: str | None


def mapping_config(
    properties: Mapping[str, Any],
    created: Mapping[str, CreatedResource],
    params: Mapping[str, Any],
    region: str,
) -> MappingConfig:
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return MappingConfig(
        batch_size=int(properties.get("BatchSize", 100)),
        window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
        bisect=bool(properties.get("BisectBatchOnFunctionError", False)),
        max_retries=int(properties.get("MaximumRetryAttempts", -1)),
        report_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
        filter=StreamFilter.from_criteria(properties.get("FilterCriteria")),
        on_failure_arn=None if destination is None else str(resolve(destination, created, params, region)),
    )


class StreamSource(Protocol):
    arn: str
    kind: str  # "Kinesis" or "DynamoDBStreams"

    def shards(self) -> list[str]: ...

    def read(self, shard_id: str, limit: int) -> list[dict[str, Any]]:
        """Lambda-shaped records after the last ones read from the shard."""

    def sequence_number(self, record: dict[str, Any]) -> str: ...


class _ShardReader:
    """Reads each shard from its start, remembering the position: what Kinesis and DynamoDB Streams
    share. Subclasses name the stream for the client, cap a read, and shape a record as Lambda does."""

    kind: str
    max_records_per_read: int

    def __init__(self, client: Any, arn: str, region: str) -> None:
        self._client, self.arn, self._region = client, arn, region
        self._iterators: dict[str, str | None] = {}

    def _stream(self) -> dict[str, str]:
        raise NotImplementedError

    def _lambda_record(self, record: dict[str, Any], shard_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def read(self, shard_id: str, limit: int) -> list[dict[str, Any]]:
        if shard_id not in self._iterators:
            self._iterators[shard_id] = self._client.get_shard_iterator(
                **self._stream(), ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        iterator = self._iterators[shard_id]
        if iterator is None:
            return []
        response = self._client.get_records(
            ShardIterator=iterator, Limit=min(limit, self.max_records_per_read)
        )
        self._iterators[shard_id] = response.get("NextShardIterator")
        return [self._lambda_record(r, shard_id) for r in response.get("Records", [])]


class KinesisSource(_ShardReader):
    kind = "Kinesis"
    max_records_per_read = 10_000

    def __init__(self, client: Any, stream_name: str, arn: str, region: str) -> None:
        super().__init__(client, arn, region)
        self._name = stream_name

    def _stream(self) -> dict[str, str]:
        return {"StreamName": self._name}

    def shards(self) -> list[str]:
        return [s["ShardId"] for s in self._client.list_shards(StreamName=self._name)["Shards"]]

    def _lambda_record(self, record: dict[str, Any], shard_id: str) -> dict[str, Any]:
        return kinesis_lambda_record(record, self.arn, self._region, shard_id)

    def sequence_number(self, record: dict[str, Any]) -> str:
        return str(record["kinesis"]["sequenceNumber"])


class TableStreamSource(_ShardReader):
    kind = "DynamoDBStreams"
    max_records_per_read = 1000

    def _stream(self) -> dict[str, str]:
        return {"StreamArn": self.arn}

    def shards(self) -> list[str]:
        description = self._client.describe_stream(StreamArn=self.arn)["StreamDescription"]
        return [s["ShardId"] for s in description["Shards"]]

    def _lambda_record(self, record: dict[str, Any], shard_id: str) -> dict[str, Any]:
        return table_lambda_record(record, self.arn, self._region)

    def sequence_number(self, record: dict[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])


@dataclass
class MappingStats:
    records_read: int = 0
    invocations: int = 0


class EventSourceMapping:
    """One poller thread per shard, as Lambda polls each shard on its own; a shard's records are
    delivered in order, the next batch only once the previous one is done."""

    def __init__(
        self,
        name: str,
        source: StreamSource,
        function: LocalFunction,
        config: MappingConfig,
        sqs: Any,
        queue_urls_by_arn: Mapping[str, str],
        log: Callable[[str], None],
        idle_sleep_seconds: float = 0.2,
    ) -> None:
        self.name, self.source, self.function, self.config = name, source, function, config
        self._sqs, self._queue_urls, self._log = sqs, queue_urls_by_arn, log
        self._idle = idle_sleep_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._shard_idle: dict[str, threading.Event] = {}
        self.stats = MappingStats()

    def start(self) -> None:
        for shard_id in self.source.shards():
            self._shard_idle[shard_id] = threading.Event()
            thread = threading.Thread(
                target=self._poll, args=(shard_id,), name=f"esm-{self.name}-{shard_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def is_idle(self) -> bool:
        """Every shard found nothing new at its last look."""
        return all(event.is_set() for event in self._shard_idle.values())

    def _poll(self, shard_id: str) -> None:
        idle = self._shard_idle[shard_id]
        while not self._stop.is_set():
            try:
                batch, read = self._collect(shard_id)
                if not read:
                    idle.set()
                    self._stop.wait(self._idle)
                    continue
                if batch:
                    self._deliver(shard_id, batch)
            except Exception as error:  # the runner keeps polling whatever one round did
                self._log(f"[{self.name}] poller error on {shard_id}: {type(error).__name__}: {error}")
                self._stop.wait(1.0)

    def _collect(self, shard_id: str) -> tuple[list[dict[str, Any]], int]:
        """(records that pass the filter, records read): like Lambda, the filter applies before
        batching, so a batch fills with matching records until the batch size, the batching window
        or the end of the shard."""
        kept: list[dict[str, Any]] = []
        read = 0
        deadline: float | None = None
        while len(kept) < self.config.batch_size and not self._stop.is_set():
            got = self.source.read(shard_id, self.config.batch_size - len(kept))
            if got:
                self._shard_idle[shard_id].clear()  # busy from the first record on, window included
                self.stats.records_read += len(got)
                read += len(got)
                kept.extend(r for r in got if self.config.filter.matches(r))
                if deadline is None:
                    deadline = time.monotonic() + self.config.window_seconds
                continue
            if deadline is None or time.monotonic() >= deadline or not kept:
                break
            self._stop.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        return kept, read

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        pending = records
        attempts = 0
        while pending and not self._stop.is_set():
            self.stats.invocations += 1
            try:
                result = self.function.invoke({"Records": pending})
            except FunctionError as error:
                self._log(f"[{self.name}] function error on {len(pending)} records: {error}")
                if self.config.bisect and len(pending) > 1:
                    half = len(pending) // 2
                    self._deliver(shard_id, pending[:half])
                    self._deliver(shard_id, pending[half:])
                    return
                retry_from = 0
            else:
                first_failure = self._first_failure(pending, result)
                if first_failure is None:
                    return
                retry_from = first_failure
            pending = pending[retry_from:]
            attempts += 1
            if 0 <= self.config.max_retries < attempts:
                self._dead_letter(shard_id, pending, attempts)
                return
            self._stop.wait(0.1 * 2 ** min(attempts, 3))

    def _first_failure(self, records: list[dict[str, Any]], result: Any) -> int | None:
        """Index to retry from, or None when the batch succeeded. An identifier that names no record
        of the batch fails the whole batch, as in Lambda."""
        if not self.config.report_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if not failures:
            return None
        if not isinstance(failures, list) or not all(isinstance(f, dict) for f in failures):
            return 0  # a malformed answer is a failure of the whole batch
        positions = {self.source.sequence_number(r): i for i, r in enumerate(records)}
        indexes = [positions.get(str(f.get("itemIdentifier"))) for f in failures]
        if any(i is None for i in indexes):
            return 0
        return min(i for i in indexes if i is not None)

    def _dead_letter(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        first, last = self.source.sequence_number(records[0]), self.source.sequence_number(records[-1])
        self._log(f"[{self.name}] retries exhausted: {len(records)} records ({first}..{last}) to the DLQ")
        if self.config.on_failure_arn is None:
            return
        info_key = "KinesisBatchInfo" if self.source.kind == "Kinesis" else "DDBStreamBatchInfo"
        message = {
            "requestContext": {
                "requestId": f"local-{first}",
                "functionArn": f"arn:aws:lambda:local:{ACCOUNT_ID}:function:{self.function.spec.logical_id}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            info_key: {
                "shardId": shard_id,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "batchSize": len(records),
                "streamArn": self.source.arn,
            },
        }
        self._sqs.send_message(
            QueueUrl=self._queue_urls[self.config.on_failure_arn], MessageBody=json.dumps(message)
        )


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_seconds(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"the local runner plays rate(...) schedules only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class ScheduledInvoker:
    """EventBridge Scheduler's part: invokes the function with a scheduled event at its rate."""

    def __init__(self, name: str, function: LocalFunction, every_seconds: float, log: Callable[[str], None]):
        self.name, self.function, self.every, self._log = name, function, every_seconds, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"schedule-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def fire(self) -> Any:
        event = {
            "version": "0",
            "id": uuid.uuid4().hex,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "local",
            "resources": [],
            "detail": {},
        }
        try:
            return self.function.invoke(event)
        except FunctionError as error:
            self._log(f"[{self.name}] scheduled invocation failed: {error}")
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.fire()
