"""What AlertFunction and AlertRedeliveryFunction share: the clients and the alert service that
claims, sends and records alerts. Built on first use, kept for the life of the instance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from budget_core.adapters.alerts.dynamodb_alert_claims import DynamoDBAlertClaims
from budget_core.adapters.alerts.eventbridge_budget_events import EventBridgeBudgetEvents
from budget_core.adapters.alerts.sns_alert_notifier import SnsAlertNotifier
from budget_core.domain.alerts.rules import ForecastRule
from budget_core.domain.alerts.service import AlertService, ThresholdReport
from budget_core.domain.shared.clock import Clock, SystemClock
from budget_core.platform.composition import RootHolder
from budget_core.platform.observability import metrics
from budget_core.platform.settings import AlertDeliverySettings, AlertSettings, settings_of

if TYPE_CHECKING:
    from budget_core.adapters.usage.sqs_dead_letters import SqsDeadLetters

# Short timeouts: a slow call must fail well inside the function's timeout and the claim's lease,
# or a timed-out invocation would leave sent-but-unrecorded alerts behind.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


class AlertRoot:
    """The alert functions' composition root: the alert service and what it needs, built from one
    settings model, one set of clients and one clock on first use. Tests install their own."""

    def __init__(
        self, settings: AlertDeliverySettings, clock: Clock, clients: dict[str, Any] | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._clients = dict(clients or {})

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = boto3.client(name, config=CLIENT_CONFIG)  # type: ignore[call-overload]
        return self._clients[name]

    @cached_property
    def alert_service(self) -> AlertService:
        settings = self.settings
        return AlertService(
            claims=DynamoDBAlertClaims(
                self.client("dynamodb"),
                settings.table_name,
                timedelta(days=settings.alert_retention_days),
                self.clock,
            ),
            notifier=SnsAlertNotifier(self.client("sns"), settings.alert_topic_arn),
            events=EventBridgeBudgetEvents(self.client("events"), settings.event_bus_name),
            rule=ForecastRule(
                min_elapsed_fraction=Decimal(settings.forecast_min_elapsed_percent) / 100,
                min_spent_percent=Decimal(settings.forecast_min_spent_percent),
            ),
        )

    @cached_property
    def dead_letters(self) -> SqsDeadLetters:
        """AlertFunction's dead-letter queue, for counter records it cannot read (rare: its import
        stays off the cold start)."""
        from budget_core.adapters.usage.sqs_dead_letters import SqsDeadLetters

        url = settings_of(AlertSettings).alert_dead_letter_queue_url
        return SqsDeadLetters(self.client("sqs"), url, "AlertFunction", self.clock)


_holder = RootHolder(lambda: AlertRoot(settings_of(AlertDeliverySettings), SystemClock()))
root = _holder.root
install = _holder.install


def count_report(report: ThresholdReport) -> None:
    if not report.raised:
        return
    metrics.add_metric(name="AlertsSent", unit="Count", value=report.sent)
    metrics.add_metric(name="BudgetEventsSent", unit="Count", value=report.announced)
    metrics.add_metric(name="ForecastAlerts", unit="Count", value=report.forecasts)
    metrics.add_metric(name="AlertsDeduplicated", unit="Count", value=report.deduplicated)
    metrics.add_metric(name="AlertsSkipped", unit="Count", value=report.skipped)
