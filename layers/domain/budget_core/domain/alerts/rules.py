"""Threshold and forecast alerts: which alerts a change of a spend counter raises (check_thresholds).

Detection is pure: it compares the counter before and after one write (the table stream's old and
new images), so a change that crosses nothing costs no read at all. Every threshold between the old
and the new percent is reported, so a jump from 40 % to 90 % raises both 50 and 80 (invariant 6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from budget_core.domain.shared.money import format_money, percent_of
from budget_core.domain.shared.periods import TOTAL_KEY

HUNDRED = Decimal(100)


class AlertKind(StrEnum):
    ACTUAL = "actual"  # spend reached a threshold
    FORECAST = "forecast"  # spend at the period's run rate will reach the limit before the period ends
    EXCEEDED = "exceeded"  # spend reached the limit: a budget event for other services, not a message


@dataclass(frozen=True)
class CounterSnapshot:
    """A policy's spend counter as one write left it, with the policy as it was at that write."""

    tenant_id: str
    policy_id: str
    policy_name: str
    policy_active: bool
    scope_type: str
    scope_id: str | None
    period: str
    period_key: str
    period_start: datetime
    period_end: datetime
    limit_usd: Decimal
    thresholds: tuple[int, ...]
    forecast_alerts: bool
    spent_usd: Decimal
    updated_at: datetime
    basis_version: int = 1  # which counter of the policy (a scope or filter change starts another)


@dataclass(frozen=True)
class ForecastRule:
    """A forecast needs enough of the period and of the budget behind it: the first cent of a month
    does not forecast a disaster."""

    min_elapsed_fraction: Decimal = Decimal("0.1")
    min_spent_percent: Decimal = Decimal(10)

    def projection(self, counter: CounterSnapshot) -> Decimal | None:
        if not counter.forecast_alerts or counter.period_key == TOTAL_KEY:
            return None
        if counter.spent_usd * HUNDRED < self.min_spent_percent * counter.limit_usd:
            return None
        length = (counter.period_end - counter.period_start).total_seconds()
        elapsed = (counter.updated_at - counter.period_start).total_seconds()
        if length <= 0 or elapsed <= 0:
            return None
        fraction = Decimal(str(elapsed)) / Decimal(str(length))
        if fraction < self.min_elapsed_fraction:
            return None
        if fraction >= 1:
            return counter.spent_usd
        return (counter.spent_usd / fraction).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: AlertKind
    threshold_percent: int
    counter: CounterSnapshot
    forecast_usd: Decimal | None

    @property
    def crossed_at(self) -> datetime:
        # The time of the write that crossed: the same on every redelivery of that stream record.
        return self.counter.updated_at

    @property
    def notifies_subscribers(self) -> bool:
        return self.kind is not AlertKind.EXCEEDED

    def message(self) -> dict[str, object]:
        """The alert message of docs/contracts.md ("Alert message (SNS)"); money as decimal strings."""
        c = self.counter
        return {
            "alert_id": self.alert_id,
            "tenant_id": c.tenant_id,
            "policy_id": c.policy_id,
            "policy_name": c.policy_name,
            "scope": {"type": c.scope_type, "id": c.scope_id},
            "period": c.period,
            "period_key": c.period_key,
            "period_start": c.period_start.isoformat(),
            "period_end": c.period_end.isoformat(),
            "kind": self.kind.value,
            "threshold_percent": self.threshold_percent,
            "spent_usd": format_money(c.spent_usd),
            "limit_usd": format_money(c.limit_usd),
            "percent_used": format_money(percent_of(c.spent_usd, c.limit_usd)),
            "forecast_usd": format_money(self.forecast_usd) if self.forecast_usd is not None else None,
            "crossed_at": self.crossed_at.isoformat(),
        }


def alert_id(
    tenant_id: str,
    policy_id: str,
    period_key: str,
    kind: AlertKind,
    threshold: int,
    limit_usd: Decimal | None = None,
    basis_version: int = 1,
) -> str:
    """Deterministic, so that a subscriber can drop an SNS redelivery by id. The limit and the
    counter's basis are part of it: after a limit change (or a new scope) the thresholds are new
    alerts, which a subscriber must not drop as repeats of the old ones."""
    identity = f"{tenant_id}|{policy_id}|{period_key}|{kind.value}|{threshold}"
    if limit_usd is not None:
        identity += f"|{format_money(limit_usd)}|{basis_version}"
    digest = hashlib.sha256(identity.encode())
    return f"alt_{digest.hexdigest()[:28]}"


def detect_crossings(
    before: CounterSnapshot | None, after: CounterSnapshot, rule: ForecastRule
) -> list[Alert]:
    """Every alert that the change from ``before`` to ``after`` raises (``before`` is None for the
    counter's first write of the period).

    Percents compare each image against its own limit, so lowering a limit can raise the thresholds
    the spend now stands above. A threshold added above a spend already past it is not reported:
    only a change of spend or limit crosses anything.
    """
    if before is not None and (
        before.period_key != after.period_key
        or before.policy_id != after.policy_id
        or before.basis_version != after.basis_version
    ):
        before = None
    old_spent = before.spent_usd if before is not None else Decimal(0)
    old_limit = before.limit_usd if before is not None else after.limit_usd
    new_spent, new_limit = after.spent_usd, after.limit_usd

    def crossed(percent: Decimal) -> bool:
        return old_spent * HUNDRED < percent * old_limit and percent * new_limit <= new_spent * HUNDRED

    alerts = [
        _alert(after, AlertKind.ACTUAL, threshold, None)
        for threshold in sorted(set(after.thresholds))
        if crossed(Decimal(threshold))
    ]
    if crossed(HUNDRED):
        alerts.append(_alert(after, AlertKind.EXCEEDED, 100, None))
    projected = rule.projection(after)
    if projected is not None and projected >= new_limit > new_spent:
        previous = rule.projection(before) if before is not None else None
        if previous is None or previous < old_limit:
            alerts.append(_alert(after, AlertKind.FORECAST, 100, projected))
    return alerts


def _alert(counter: CounterSnapshot, kind: AlertKind, threshold: int, projected: Decimal | None) -> Alert:
    identity = alert_id(
        counter.tenant_id,
        counter.policy_id,
        counter.period_key,
        kind,
        threshold,
        counter.limit_usd,
        counter.basis_version,
    )
    return Alert(identity, kind, threshold, counter, projected)
