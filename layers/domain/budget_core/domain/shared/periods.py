"""Budget periods come from the clock (invariant 3): a period is named by a key computed from the
event's own time in the policy's time zone, so nothing ever has to be reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from budget_core.domain.policies.enums import Period

TOTAL_KEY = "total"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class PeriodWindow:
    key: str
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def period_key(period: Period, timezone: str, moment: datetime) -> str:
    """The counter key of the period holding ``moment`` (fast path used per event)."""
    if period is Period.TOTAL:
        return TOTAL_KEY
    local = moment.astimezone(_zone(timezone))
    if period is Period.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    if period is Period.DAY:
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if period is Period.WEEK:
        iso = local.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period is Period.QUARTER:
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}"


def period_window(period: Period, timezone: str, moment: datetime) -> PeriodWindow:
    """The whole period holding ``moment``, with its bounds as aware datetimes in the policy zone."""
    key = period_key(period, timezone, moment)
    if period is Period.TOTAL:
        return PeriodWindow(key, _EPOCH, _END_OF_TIME)
    zone = _zone(timezone)
    local = moment.astimezone(zone)
    if period is Period.DAY:
        start = datetime(local.year, local.month, local.day, tzinfo=zone)
        end_date = start.date() + timedelta(days=1)
    elif period is Period.WEEK:
        monday = local.date() - timedelta(days=local.weekday())
        start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
        end_date = monday + timedelta(days=7)
    elif period is Period.MONTH:
        start = datetime(local.year, local.month, 1, tzinfo=zone)
        end_date = (start.replace(day=28) + timedelta(days=4)).replace(day=1).date()
    elif period is Period.QUARTER:
        first_month = 3 * ((local.month - 1) // 3) + 1
        start = datetime(local.year, first_month, 1, tzinfo=zone)
        end_date = date(local.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    else:
        start = datetime(local.year, 1, 1, tzinfo=zone)
        end_date = date(local.year + 1, 1, 1)
    end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=zone)
    return PeriodWindow(key, start, end)
