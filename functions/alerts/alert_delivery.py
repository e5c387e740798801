"""What AlertFunction and AlertRedeliveryFunction share: the clients and the alert service that
claims, sends and records alerts. Built on first use, kept for the life of the instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from budget_core.adapters.alerts.dynamodb_alert_claims import DynamoDBAlertClaims
from budget_core.adapters.alerts.eventbridge_budget_events import EventBridgeBudgetEvents
from budget_core.adapters.alerts.sns_alert_notifier import SnsAlertNotifier
from budget_core.domain.alerts.rules import ForecastRule
from budget_core.domain.alerts.service import AlertService, ThresholdReport
from budget_core.platform.observability import metrics
from budget_core.platform.settings import AlertDeliverySettings, settings_of

# Short timeouts: a slow call must fail well inside the function's timeout and the claim's lease,
# or a timed-out invocation would leave sent-but-unrecorded alerts behind.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


def now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@lru_cache(maxsize=1)
def alert_service() -> AlertService:
    settings = settings_of(AlertDeliverySettings)
    return AlertService(
        claims=DynamoDBAlertClaims(
            dynamodb(), settings.table_name, timedelta(days=settings.alert_retention_days), now
        ),
        notifier=SnsAlertNotifier(boto3.client("sns", config=CLIENT_CONFIG), settings.alert_topic_arn),
        events=EventBridgeBudgetEvents(boto3.client("events", config=CLIENT_CONFIG), settings.event_bus_name),
        rule=ForecastRule(
            min_elapsed_fraction=Decimal(settings.forecast_min_elapsed_percent) / 100,
            min_spent_percent=Decimal(settings.forecast_min_spent_percent),
        ),
    )


def count_report(report: ThresholdReport) -> None:
    if not report.raised:
        return
    metrics.add_metric(name="AlertsSent", unit="Count", value=report.sent)
    metrics.add_metric(name="BudgetEventsSent", unit="Count", value=report.announced)
    metrics.add_metric(name="ForecastAlerts", unit="Count", value=report.forecasts)
    metrics.add_metric(name="AlertsDeduplicated", unit="Count", value=report.deduplicated)
    metrics.add_metric(name="AlertsSkipped", unit="Count", value=report.skipped)
