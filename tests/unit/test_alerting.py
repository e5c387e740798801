"""Which alerts a counter change raises (pure detection from the stream's old and new images)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from budget_core.domain.alerts.rules import (
    AlertKind,
    CounterSnapshot,
    ForecastRule,
    alert_id,
    detect_crossings,
)
from tests.support.counters import RULE, counter


def raised(before: CounterSnapshot | None, after: CounterSnapshot) -> list[tuple[str, int]]:
    return [(a.kind.value, a.threshold_percent) for a in detect_crossings(before, after, RULE)]


def test_a_jump_across_several_thresholds_reports_every_one_of_them() -> None:
    # Given spend at 40 %, When one write takes it to 90 %, Then both 50 and 80 are raised
    assert raised(counter("40"), counter("90")) == [("actual", 50), ("actual", 80)]


def test_a_threshold_is_crossed_when_spend_reaches_it_and_only_then() -> None:
    assert raised(counter("49.99"), counter("50")) == [("actual", 50)]
    assert raised(counter("50"), counter("60")) == []
    assert raised(counter("10"), counter("10")) == []  # moto's MODIFY without a change


def test_the_first_write_of_a_period_starts_from_zero() -> None:
    assert raised(None, counter("55")) == [("actual", 50)]


def test_reaching_the_limit_raises_the_100_alert_and_a_budget_exceeded_event() -> None:
    assert raised(counter("95"), counter("130")) == [("actual", 100), ("exceeded", 100)]
    # the event for other services comes even when 100 is not among the thresholds
    assert raised(counter("95", thresholds=(50,)), counter("101", thresholds=(50,))) == [("exceeded", 100)]


def test_percents_compare_each_image_with_its_own_limit() -> None:
    # Given $40 of $100 (40 %), When the limit drops to $50 and $1 more is spent (82 %)
    assert raised(counter("40", "100"), counter("41", "50")) == [("actual", 50), ("actual", 80)]
    # Raising the limit lowers the percent: nothing is crossed
    assert raised(counter("90", "100"), counter("91", "200")) == []


def test_an_image_of_another_period_counts_as_no_image() -> None:
    old = counter("90", period_key="2026-10")
    assert raised(old, counter("60")) == [("actual", 50)]


def test_a_forecast_alert_fires_when_the_run_rate_first_projects_past_the_limit() -> None:
    # Half the month gone: $45 projects $90 (no), $55 projects $110 (yes)
    before, after = counter("45", forecast_alerts=True), counter("55", forecast_alerts=True)
    alerts = detect_crossings(before, after, RULE)
    assert [(a.kind, a.threshold_percent) for a in alerts] == [
        (AlertKind.ACTUAL, 50),
        (AlertKind.FORECAST, 100),
    ]
    assert alerts[1].forecast_usd == Decimal("110")
    # already projecting past the limit before: nothing new
    assert raised(counter("56", forecast_alerts=True), counter("57", forecast_alerts=True)) == []


def test_no_forecast_before_enough_of_the_period_or_of_the_budget_has_gone() -> None:
    day_two = datetime(2026, 11, 2, tzinfo=UTC)  # 3 % of the month
    assert raised(None, counter("9", forecast_alerts=True, updated_at=day_two)) == []
    # enough time, too little spend: $20 after 5 of 30 days projects $120, under a 25 % spend minimum
    day_six = datetime(2026, 11, 6, tzinfo=UTC)
    strict = ForecastRule(min_elapsed_fraction=Decimal("0.1"), min_spent_percent=Decimal(25))
    assert detect_crossings(None, counter("20", forecast_alerts=True, updated_at=day_six), strict) == []
    assert raised(None, counter("20", forecast_alerts=True, updated_at=day_six)) == [("forecast", 100)]
    # and a policy without forecast alerts never gets one
    assert raised(counter("45"), counter("55")) == [("actual", 50)]


def test_a_forecast_fires_once_the_period_is_old_enough_even_without_new_spend_crossing() -> None:
    # Given a projection that was not yet allowed at the previous write (day 2)
    early = counter("20", forecast_alerts=True, updated_at=datetime(2026, 11, 2, tzinfo=UTC))
    # When the next write comes on day 5 with $21 spent (projects $126)
    later = counter("21", forecast_alerts=True, updated_at=datetime(2026, 11, 5, tzinfo=UTC))
    assert raised(early, later) == [("forecast", 100)]


def test_no_forecast_once_the_limit_is_actually_reached() -> None:
    assert ("forecast", 100) not in raised(
        counter("45", forecast_alerts=True), counter("100", forecast_alerts=True)
    )


def test_alert_ids_are_deterministic_per_policy_period_kind_and_threshold() -> None:
    a = alert_id("t1", "pol_x", "2026-11", AlertKind.ACTUAL, 80)
    assert a == alert_id("t1", "pol_x", "2026-11", AlertKind.ACTUAL, 80)
    others = {
        alert_id("t1", "pol_x", "2026-12", AlertKind.ACTUAL, 80),
        alert_id("t1", "pol_x", "2026-11", AlertKind.FORECAST, 80),
        alert_id("t1", "pol_x", "2026-11", AlertKind.ACTUAL, 50),
        alert_id("t2", "pol_x", "2026-11", AlertKind.ACTUAL, 80),
    }
    assert a not in others
    assert len(others) == 4


def test_the_message_carries_the_contract_fields_with_money_as_strings() -> None:
    (alert,) = detect_crossings(counter("79.5"), counter("80.25"), RULE)
    message = alert.message()
    assert message == {
        "alert_id": alert.alert_id,
        "tenant_id": "t1",
        "policy_id": "pol_" + "a" * 28,
        "policy_name": "Research",
        "scope": {"type": "team", "id": "research"},
        "period": "month",
        "period_key": "2026-11",
        "period_start": "2026-11-01T00:00:00+00:00",
        "period_end": "2026-12-01T00:00:00+00:00",
        "kind": "actual",
        "threshold_percent": 80,
        "spent_usd": "80.25",
        "limit_usd": "100.00",
        "percent_used": "80.25",
        "forecast_usd": None,
        "crossed_at": "2026-11-16T00:00:00+00:00",
    }
