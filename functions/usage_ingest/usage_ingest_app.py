"""UsageIngestFunction: usage events from the Kinesis UsageStream into the BudgetTable, priced and
counted exactly once. Invalid records go to the dead-letter queue; only transient failures make
Lambda retry (reported as partial batch failures)."""

from __future__ import annotations

import gc

# Init allocates many long-lived objects (modules, models, validators): collecting while it runs only
# costs cold-start time. Collection is back on, with those objects frozen, at the end of the module.
gc.disable()

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from budget_core.domain.usage.ports import Rejection
from budget_core.platform.batch import StagedBatchProcessor
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import IngestSettings, settings_of
from ingest_bootstrap import root


class KinesisPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    partitionKey: str
    sequenceNumber: str
    data: str  # base64, decoded by the ingestor's caller so that bad base64 is a rejection, not a crash
    approximateArrivalTimestamp: float | None = None  # seconds since the epoch


class UsageStreamRecord(BaseModel):
    """The Kinesis record envelope only; the usage event inside is validated by the domain."""

    model_config = ConfigDict(extra="allow")

    eventID: str
    kinesis: KinesisPayload


settings_of(IngestSettings)  # at init: a missing variable fails here, naming it


def _flush(records: list[UsageStreamRecord]) -> set[str]:
    decoded: list[tuple[str, bytes]] = []
    arrivals: dict[str, datetime] = {}
    undecodable: list[Rejection] = []
    for record in records:
        arrived = record.kinesis.approximateArrivalTimestamp
        if arrived is not None:
            arrivals[record.kinesis.sequenceNumber] = datetime.fromtimestamp(arrived, tz=UTC)
        try:
            decoded.append(
                (record.kinesis.sequenceNumber, base64.b64decode(record.kinesis.data, validate=True))
            )
        except (binascii.Error, ValueError):
            raw = record.kinesis.data.encode()
            undecodable.append(Rejection(record.kinesis.sequenceNumber, "record data is not base64", raw))
    report = root().ingestor.ingest(decoded, arrivals, undecodable)
    retry = set(report.retry_record_ids)
    rejected = len(report.rejected)
    metrics.add_metric(name="EventsIngested", unit="Count", value=len(report.committed))
    metrics.add_metric(name="DuplicateEvents", unit="Count", value=report.duplicates)
    metrics.add_metric(name="RejectedEvents", unit="Count", value=rejected)
    metrics.add_metric(name="UnpricedEvents", unit="Count", value=report.unpriced)
    metrics.add_metric(
        name="SpendRecordedMicroUSD", unit="Count", value=int(report.committed_cost * 1_000_000)
    )
    metrics.add_metric(name="RecordsRetried", unit="Count", value=len(retry))
    if rejected or retry:
        logger.warning(
            "usage batch had rejected or retried records",
            extra={
                "rejected": [(r.record_id, r.reason) for r in report.rejected][:20],
                "retry": sorted(retry)[:20],
            },
        )
    return retry


processor = StagedBatchProcessor(
    EventType.KinesisDataStreams,
    UsageStreamRecord,
    flush=_flush,
    record_id=lambda r: r.kinesis.sequenceNumber,
)


def stage(record: UsageStreamRecord) -> None:
    processor.stage(record)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=stage, processor=processor, context=context
    )
    return dict(response)


gc.freeze()
gc.enable()
