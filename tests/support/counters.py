"""Counter snapshots for alert tests: a $100 monthly team budget, half of November gone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from budget_core.domain.alerts.rules import CounterSnapshot, ForecastRule

RULE = ForecastRule(min_elapsed_fraction=Decimal("0.1"), min_spent_percent=Decimal(10))
NOV_START = datetime(2026, 11, 1, tzinfo=UTC)
DEC_START = datetime(2026, 12, 1, tzinfo=UTC)
MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)  # half of November gone


def counter(spent: str, limit: str = "100", **changes: object) -> CounterSnapshot:
    base = CounterSnapshot(
        tenant_id="t1",
        policy_id="pol_" + "a" * 28,
        policy_name="Research",
        policy_active=True,
        scope_type="team",
        scope_id="research",
        period="month",
        period_key="2026-11",
        period_start=NOV_START,
        period_end=DEC_START,
        limit_usd=Decimal(limit),
        thresholds=(50, 80, 100),
        forecast_alerts=False,
        spent_usd=Decimal(spent),
        updated_at=MID_NOVEMBER,
    )
    return replace(base, **changes)  # type: ignore[arg-type]
