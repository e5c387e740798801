"""Clocks tests give the composition roots instead of the system's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class CallableClock:
    """A clock that asks ``now`` (a test's own moving time)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()


class ShiftedClock:
    """The system's time moved by ``shift``, which a test sets to jump ahead."""

    def __init__(self) -> None:
        from datetime import timedelta

        self.shift = timedelta(0)

    def now(self) -> datetime:
        from datetime import UTC

        return datetime.now(UTC) + self.shift
