"""Publishes policy lifecycle events on the EventBus.

The policy write has already committed when this runs, so a publishing failure must not turn a
successful request into an error the client would retry (and then get a 409 for). Entries that
EventBridge rejects are re-sent once; what still fails is logged with the whole event and counted
in the ``LifecycleEventsUndelivered`` metric, which has an alarm.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.policies.lifecycle import PolicyLifecycleEvent
from budget_core.platform.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

EVENT_SOURCE = "budget-service.policies"
PUT_EVENTS_MAX_ENTRIES = 10


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, events: Sequence[PolicyLifecycleEvent]) -> None:
        for start in range(0, len(events), PUT_EVENTS_MAX_ENTRIES):
            self._put(list(events[start : start + PUT_EVENTS_MAX_ENTRIES]))

    def _put(self, events: list[PolicyLifecycleEvent]) -> None:
        pending = events
        for _ in range(2):
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "EventBusName": self._bus,
                    "Source": EVENT_SOURCE,
                    "DetailType": event.event_type.value,
                    "Detail": json.dumps(event.detail(), separators=(",", ":")),
                    "Resources": [],
                    "Time": event.occurred_at,
                }
                for event in pending
            ]
            try:
                response = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError):
                logger.exception("lifecycle events not published", extra={"events": _ids(pending)})
                continue
            results = response.get("Entries", [])
            pending = [e for e, r in zip(pending, results, strict=False) if r.get("ErrorCode")]
            if not pending:
                return
        for event in pending:
            logger.error(
                "lifecycle event undelivered",
                extra={"event_type": event.event_type.value, "detail": event.detail()},
            )
        metrics.add_metric(name="LifecycleEventsUndelivered", unit="Count", value=len(pending))


def _ids(events: list[PolicyLifecycleEvent]) -> list[str]:
    return [e.event_id for e in events]
