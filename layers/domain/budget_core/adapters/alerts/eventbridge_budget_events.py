"""Budget events on the EventBus (threshold crossed, forecast crossed, budget exceeded), so that
other services can react, for example by disabling an API key. Unlike lifecycle events, a failure
here is raised: the alert's claim stays pending and the stream record is retried."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.alerts.rules import Alert, AlertKind
from budget_core.domain.alerts.service import DeliveryFailed

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

BUDGET_EVENT_SOURCE = "budget-service.budgets"
DETAIL_TYPES = {
    AlertKind.ACTUAL: "Budget Threshold Crossed",
    AlertKind.FORECAST: "Budget Forecast Crossed",
    AlertKind.EXCEEDED: "Budget Exceeded",
}


class EventBridgeBudgetEvents:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def announce(self, alert: Alert) -> None:
        try:
            response = self._client.put_events(
                Entries=[
                    {
                        "EventBusName": self._bus,
                        "Source": BUDGET_EVENT_SOURCE,
                        "DetailType": DETAIL_TYPES[alert.kind],
                        "Detail": json.dumps(alert.message(), separators=(",", ":")),
                        "Resources": [],
                        "Time": alert.crossed_at,
                    }
                ]
            )
        except (ClientError, BotoCoreError) as error:
            raise DeliveryFailed(f"event bus refused the budget event: {error}") from error
        if response.get("FailedEntryCount", 0):
            codes = [entry.get("ErrorCode") for entry in response.get("Entries", [])]
            raise DeliveryFailed(f"event bus refused the budget event: {codes}")
