"""Alert claim items: the once-only guard of an alert, its delivery state and its history entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from budget_core.adapters.alerts.counter_images import snapshot_attributes, snapshot_from_attributes
from budget_core.adapters.shared.keys import (
    PENDING_ALERTS_PARTITION,
    alert_claim_key,
    alert_history_partition,
)
from budget_core.domain.alerts.rules import Alert, AlertKind
from budget_core.domain.alerts.service import ClaimedAlert
from budget_core.domain.shared.money import format_money
from budget_core.domain.shared.periods import TOTAL_KEY

ALERT_ENTITY = "alert"


def claim_key(alert: Alert) -> dict[str, str]:
    c = alert.counter
    return alert_claim_key(
        c.tenant_id,
        c.policy_id,
        c.period_key,
        alert.kind.value,
        alert.threshold_percent,
        format_money(c.limit_usd),
        c.basis_version,
    )


def history_sort_key(crossed_at: datetime, threshold: int, alert_id: str) -> str:
    """Newest first; of the alerts one write raised, the highest threshold first."""
    return f"{crossed_at.astimezone(UTC).isoformat()}#{threshold:04d}#{alert_id}"


def claim_item(alert: Alert, claimed_at: datetime, retention: timedelta, lease: timedelta) -> dict[str, Any]:
    """The whole alert as it was raised, so that a retry re-sends exactly this message; pending
    (in the sweep's index) and leased to its claimant until delivered."""
    c = alert.counter
    key = claim_key(alert)
    item: dict[str, Any] = {
        **key,
        "gsi2pk": PENDING_ALERTS_PARTITION,
        "gsi2sk": f"{claimed_at.astimezone(UTC).isoformat()}#{key['pk']}#{key['sk']}",
        "lease_until": int((claimed_at + lease).timestamp()),
        "entity": ALERT_ENTITY,
        "alert_id": alert.alert_id,
        "kind": alert.kind.value,
        "threshold_percent": alert.threshold_percent,
        "forecast_usd": alert.forecast_usd,
        **snapshot_attributes(c),
        "claimed_at": claimed_at.isoformat(),
    }
    if alert.notifies_subscribers:
        # Only messages to subscribers are history; budget events are for other services.
        item["gsi1pk"] = alert_history_partition(c.tenant_id)
        item["gsi1sk"] = history_sort_key(alert.crossed_at, alert.threshold_percent, alert.alert_id)
    if c.period_key != TOTAL_KEY:
        # The claim must outlive its period (it is what stops a second alert), then it may go.
        item["expires_at"] = int((c.period_end + retention).timestamp())
    return item


def alert_from_item(item: dict[str, Any]) -> Alert:
    forecast = item.get("forecast_usd")
    return Alert(
        alert_id=str(item["alert_id"]),
        kind=AlertKind(item["kind"]),
        threshold_percent=int(item["threshold_percent"]),
        counter=snapshot_from_attributes(item),
        forecast_usd=Decimal(forecast) if forecast is not None else None,
    )


def claimed_from_item(item: dict[str, Any]) -> ClaimedAlert:
    return ClaimedAlert(
        alert_from_item(item), notified="notified_at" in item, announced="announced_at" in item
    )
