"""A hold lives at least as long as asked, and ends at a whole minute (holds are summed per minute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budget_core.domain.checks.spend import HOLD_BUCKET_SECONDS, CounterState, hold_expiry

# hypothesis bounds are naive by its API; the zone comes from ``timezones``
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@given(moments)
def test_a_hold_never_ends_before_its_time_nor_a_minute_after(moment: datetime) -> None:
    # When the expiry of a hold asked to end at any moment (to the microsecond) is rounded
    expiry = hold_expiry(moment)
    # Then it is not earlier, less than a minute later, and on a whole minute
    assert moment <= expiry < moment + timedelta(seconds=HOLD_BUCKET_SECONDS)
    assert expiry.second == 0
    assert expiry.microsecond == 0
    assert expiry.tzinfo == moment.tzinfo


def test_a_hold_placed_just_after_a_whole_second_still_counts_at_its_last_moment() -> None:
    # Given a one-minute hold placed 0.4 s after a whole minute (the float timestamp loses this)
    placed = datetime(2026, 12, 2, 17, 24, 0, 400_000, tzinfo=UTC)
    expiry = hold_expiry(placed + timedelta(minutes=1))
    counter = CounterState(reserved={int(expiry.timestamp()): Decimal("0.01")})
    # Then it still counts one minute after it was placed, and stops at the next whole minute
    assert counter.reserved_at(placed + timedelta(minutes=1)) == Decimal("0.01")
    assert counter.reserved_at(expiry) == Decimal(0)
