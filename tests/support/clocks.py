"""Clocks tests give the composition roots instead of the system's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from budget_core.domain.shared.clock import FixedClock

__all__ = ["TEST_MOMENT", "CallableClock", "FixedClock", "ShiftedClock", "SteppingClock"]


class CallableClock:
    """A clock that asks ``now`` (a test's own moving time)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()


class SteppingClock:
    """A test's own time, which it moves by setting ``moment``."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class ShiftedClock:
    """The system's time moved by ``shift``, which a test sets to jump ahead."""

    def __init__(self) -> None:
        from datetime import timedelta

        self.shift = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


# The moment integration tests run at unless they say otherwise: mid-month, mid-week, at noon UTC,
# hours away from every day, week and month boundary, so no assertion depends on the calendar.
TEST_MOMENT = datetime(2026, 6, 17, 12, 0, 7, tzinfo=UTC)
