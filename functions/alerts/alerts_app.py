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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, ConfigDict

from budget_core.adapters.counter_images import counter_from_image
from budget_core.adapters.dynamodb_alert_claims import DynamoDBAlertClaims
from budget_core.adapters.eventbridge_budget_events import EventBridgeBudgetEvents
from budget_core.adapters.sns_alert_notifier import SnsAlertNotifier
from budget_core.domain.alert_service import AlertDeliveryIncomplete, AlertService, ThresholdReport
from budget_core.domain.alerting import CounterSnapshot, ForecastRule
from budget_core.platform.batch import RetryLater
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import get_settings

if TYPE_CHECKING:
    from budget_core.adapters.sqs_dead_letters import SqsDeadLetters


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


def _now() -> datetime:
    return datetime.now(UTC)


# Short timeouts: a slow call must fail well inside the function's timeout and the claim's lease,
# or a timed-out invocation would leave sent-but-unrecorded alerts behind.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@lru_cache(maxsize=1)
def alert_service() -> AlertService:
    settings = get_settings()
    if settings.alert_topic_arn is None:
        raise RuntimeError("ALERT_TOPIC_ARN is not set: alerts would have nowhere to go")
    return AlertService(
        claims=DynamoDBAlertClaims(
            dynamodb(), settings.table_name, timedelta(days=settings.alert_retention_days), _now
        ),
        notifier=SnsAlertNotifier(boto3.client("sns", config=CLIENT_CONFIG), settings.alert_topic_arn),
        events=EventBridgeBudgetEvents(boto3.client("events", config=CLIENT_CONFIG), settings.event_bus_name),
        rule=ForecastRule(
            min_elapsed_fraction=Decimal(settings.forecast_min_elapsed_percent) / 100,
            min_spent_percent=Decimal(settings.forecast_min_spent_percent),
        ),
    )


@lru_cache(maxsize=1)
def dead_letters() -> SqsDeadLetters:
    from budget_core.adapters.sqs_dead_letters import SqsDeadLetters  # rare: off the cold start

    url = get_settings().alert_dead_letter_queue_url
    if url is None:
        raise RuntimeError("ALERT_DLQ_URL is not set: unreadable counters would have nowhere to go")
    return SqsDeadLetters(boto3.client("sqs"), url, "AlertFunction", _now)


class UnreadableCounter(ValueError):
    pass


def counter_change(record: TableStreamRecord) -> tuple[CounterSnapshot | None, CounterSnapshot] | None:
    """(before, after) of a spend counter write; None for any other change of the table."""
    change = record.dynamodb
    if record.eventName not in ("INSERT", "MODIFY") or not change.NewImage:
        return None
    try:
        after = counter_from_image(change.NewImage)
    except (KeyError, ValueError, TypeError, ArithmeticError) as error:
        raise UnreadableCounter(f"{type(error).__name__}: {error}") from error
    return None if after is None else (_before(change.OldImage), after)


def _before(old_image: dict[str, Any] | None) -> CounterSnapshot | None:
    """The counter before the write. An unreadable old image counts as none: every threshold up to
    the new spend is then claimed again, and the claims that exist drop the repeats."""
    if not old_image:
        return None
    try:
        return counter_from_image(old_image)
    except (KeyError, ValueError, TypeError, ArithmeticError) as error:
        logger.warning("unreadable old counter image ignored", extra={"reason": str(error)})
        return None


processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams,
    # Powertools types this as its own record model, whose images are decoded while parsing; ours keeps
    # them raw so that a malformed image is a dead letter rather than a record retried forever.
    model=TableStreamRecord,  # type: ignore[arg-type]
    raise_on_entire_batch_failure=False,
)


def handle_record(record: TableStreamRecord) -> None:
    if processor.fail_messages:
        raise RetryLater("an earlier record of this batch is retried first, so alerts keep their order")
    try:
        change = counter_change(record)
    except UnreadableCounter as error:
        _dead_letter(record, str(error))
        return
    if change is None:
        logger.debug("not a spend counter change", extra={"event_id": record.eventID})
        metrics.add_metric(name="StreamRecordsIgnored", unit="Count", value=1)
        return
    before, after = change
    try:
        report = alert_service().check_thresholds(before, after)
    except AlertDeliveryIncomplete as incomplete:
        _count(incomplete.report)
        metrics.add_metric(name="AlertPublishFailures", unit="Count", value=len(incomplete.report.failures))
        logger.warning(
            "alerts claimed but not all delivered; retrying", extra={"failures": incomplete.report.failures}
        )
        raise
    _count(report)
    if report.skipped:
        logger.info(
            "alerts of a deleted or paused policy skipped",
            extra={"tenant_id": after.tenant_id, "policy_id": after.policy_id, "skipped": report.skipped},
        )


def _count(report: ThresholdReport) -> None:
    if not report.raised:
        return
    metrics.add_metric(name="AlertsSent", unit="Count", value=report.sent)
    metrics.add_metric(name="BudgetEventsSent", unit="Count", value=report.announced)
    metrics.add_metric(name="ForecastAlerts", unit="Count", value=report.forecasts)
    metrics.add_metric(name="AlertsDeduplicated", unit="Count", value=report.deduplicated)
    metrics.add_metric(name="AlertsSkipped", unit="Count", value=report.skipped)


def _dead_letter(record: TableStreamRecord, reason: str) -> None:
    from budget_core.domain.ingestion_ports import Rejection

    raw = json.dumps(record.model_dump(mode="json"), separators=(",", ":")).encode()
    unsent = dead_letters().send([Rejection(record.dynamodb.SequenceNumber, reason, raw)])
    if unsent:
        raise RetryLater("the dead-letter queue did not take an unreadable counter record")
    metrics.add_metric(name="UnreadableCounterRecords", unit="Count", value=1)
    logger.error("unreadable spend counter sent to the dead-letter queue", extra={"reason": reason})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def redeliver_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """AlertRedeliveryFunction (scheduled): delivers the claims the stream left pending."""
    del event, context
    from budget_core.adapters.dynamodb_policy_repository import DynamoDBPolicyRepository

    policies = DynamoDBPolicyRepository(dynamodb(), get_settings().table_name)
    report = alert_service().redeliver_pending(policies)
    _count(report)
    metrics.add_metric(name="AlertPublishFailures", unit="Count", value=len(report.failures))
    if report.raised:
        logger.warning(
            "pending alerts swept",
            extra={"leased": report.raised, "skipped": report.skipped, "failures": report.failures},
        )
    return {
        "leased": report.raised,
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": len(report.failures),
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)


gc.freeze()
gc.enable()
