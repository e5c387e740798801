"""AlertFunction: threshold and forecast alerts from the BudgetTable stream to the AlertTopic.

The event source mapping's filter only wakes this function for spend counter writes; anything else
that reaches it is ignored. A counter image it cannot read goes to the dead-letter queue with the
reason. Only a delivery that failed (topic, bus, store busy) makes Lambda retry, and once one record
of a batch failed the later ones are left for that retry, so alerts keep their order.
"""

from __future__ import annotations

import gc

# Init allocates many long-lived objects (modules, models, validators): collecting while it runs only
# costs cold-start time. Collection is back on, with those objects frozen, at the end of the module.
gc.disable()

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from alert_delivery import count_report, root
from budget_core.adapters.alerts.counter_images import UnreadableCounter, counter_change
from budget_core.domain.alerts.service import AlertDeliveryIncomplete
from budget_core.platform.batch import RetryLater, in_stream_order
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import AlertSettings, settings_of

if TYPE_CHECKING:
    pass

settings_of(AlertSettings)  # at init: a missing variable fails here, naming it


class StreamChange(BaseModel):
    """Images stay in DynamoDB JSON here: a malformed one is a dead letter, not a failed record."""

    model_config = ConfigDict(extra="allow")

    SequenceNumber: str
    NewImage: dict[str, Any] | None = None
    OldImage: dict[str, Any] | None = None


class TableStreamRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventID: str
    eventName: str
    dynamodb: StreamChange


processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams,
    # Powertools types this as its own record model, whose images are decoded while parsing; ours keeps
    # them raw so that a malformed image is a dead letter rather than a record retried forever.
    model=TableStreamRecord,  # type: ignore[arg-type]
    raise_on_entire_batch_failure=False,
)


def _handle(record: TableStreamRecord) -> None:
    try:
        change = counter_change(record.eventName, record.dynamodb.NewImage, record.dynamodb.OldImage)
    except UnreadableCounter as error:
        _dead_letter(record, str(error))
        return
    if change is None:
        logger.debug("not a spend counter change", extra={"event_id": record.eventID})
        metrics.add_metric(name="StreamRecordsIgnored", unit="Count", value=1)
        return
    before, after = change
    try:
        report = root().alert_service.check_thresholds(before, after)
    except AlertDeliveryIncomplete as incomplete:
        count_report(incomplete.report)
        metrics.add_metric(name="AlertPublishFailures", unit="Count", value=len(incomplete.report.failures))
        logger.warning(
            "alerts claimed but not all delivered; retrying", extra={"failures": incomplete.report.failures}
        )
        raise
    count_report(report)
    if report.skipped:
        logger.info(
            "alerts of a deleted or paused policy skipped",
            extra={"tenant_id": after.tenant_id, "policy_id": after.policy_id, "skipped": report.skipped},
        )


handle_record = in_stream_order(processor, _handle)


def _dead_letter(record: TableStreamRecord, reason: str) -> None:
    from budget_core.domain.usage.ports import Rejection

    raw = json.dumps(record.model_dump(mode="json"), separators=(",", ":")).encode()
    unsent = root().dead_letters.send([Rejection(record.dynamodb.SequenceNumber, reason, raw)])
    if unsent:
        raise RetryLater("the dead-letter queue did not take an unreadable counter record")
    metrics.add_metric(name="UnreadableCounterRecords", unit="Count", value=1)
    logger.error("unreadable spend counter sent to the dead-letter queue", extra={"reason": reason})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)


gc.freeze()
gc.enable()
