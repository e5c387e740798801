from __future__ import annotations

from datetime import UTC, datetime

import pytest

from budget_core.domain.policies.policy import Period
from budget_core.domain.shared.periods import period_key, period_window


@pytest.mark.parametrize(
    ("period", "zone", "moment", "key", "start", "end"),
    [
        (
            Period.MONTH,
            "UTC",
            "2026-11-30T23:59:59+00:00",
            "2026-11",
            "2026-11-01T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        ),
        # 23:30 UTC on 30 November is already December in Tokyo
        (
            Period.MONTH,
            "Asia/Tokyo",
            "2026-11-30T23:30:00+00:00",
            "2026-12",
            "2026-12-01T00:00:00+09:00",
            "2027-01-01T00:00:00+09:00",
        ),
        (
            Period.DAY,
            "America/New_York",
            "2026-03-08T12:00:00+00:00",
            "2026-03-08",
            "2026-03-08T00:00:00-05:00",
            "2026-03-09T00:00:00-04:00",
        ),  # the DST day is 23 hours long
        (
            Period.WEEK,
            "UTC",
            "2026-11-29T10:00:00+00:00",
            "2026-W48",
            "2026-11-23T00:00:00+00:00",
            "2026-11-30T00:00:00+00:00",
        ),
        (
            Period.WEEK,
            "UTC",
            "2027-01-01T10:00:00+00:00",
            "2026-W53",
            "2026-12-28T00:00:00+00:00",
            "2027-01-04T00:00:00+00:00",
        ),  # ISO weeks belong to the year of their Thursday
        (
            Period.QUARTER,
            "UTC",
            "2026-11-29T10:00:00+00:00",
            "2026-Q4",
            "2026-10-01T00:00:00+00:00",
            "2027-01-01T00:00:00+00:00",
        ),
        (
            Period.QUARTER,
            "UTC",
            "2026-02-10T10:00:00+00:00",
            "2026-Q1",
            "2026-01-01T00:00:00+00:00",
            "2026-04-01T00:00:00+00:00",
        ),
        (
            Period.YEAR,
            "Asia/Kolkata",
            "2026-12-31T19:00:00+00:00",
            "2027",
            "2027-01-01T00:00:00+05:30",
            "2028-01-01T00:00:00+05:30",
        ),
    ],
)
def test_a_moment_falls_in_the_period_of_the_policys_own_calendar(
    period: Period, zone: str, moment: str, key: str, start: str, end: str
) -> None:
    when = datetime.fromisoformat(moment)
    window = period_window(period, zone, when)
    assert period_key(period, zone, when) == window.key == key
    assert window.start == datetime.fromisoformat(start)
    assert window.end == datetime.fromisoformat(end)
    assert window.start <= when < window.end


def test_a_total_period_never_ends() -> None:
    window = period_window(Period.TOTAL, "UTC", datetime(2026, 11, 29, tzinfo=UTC))
    assert window.key == "total"
    assert window.start.year == 2000
    assert window.end.year == 9999
