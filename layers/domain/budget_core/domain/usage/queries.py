"""Where the money went (BUD-003 get_usage_summary, spend by provider / model / operation, trends).

Reads only the rollups ingestion writes: whole UTC days from daily rollups, the quarter hours at
either edge of the range from quarter-hour ones. Times are aligned to whole UTC quarter hours
(start rounded down, end up): the finest grain the rollups keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import as_utc
from budget_core.domain.usage.accounting import ALL, QUARTER_MINUTES, Granularity, UsageLabel, quarter_bucket
from budget_core.domain.usage.event import ATTRIBUTE_PATTERN
from budget_core.domain.usage.quantities import COUNTED_NAMES

MAX_RANGE = timedelta(days=400)
T = TypeVar("T")
MAX_HOURLY_RANGE = timedelta(days=31)
Attribute = Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)]


class TrendGranularity(StrEnum):
    DAY = "day"
    HOUR = "hour"


def default_start(now: datetime) -> datetime:
    return datetime(now.year, now.month, 1, tzinfo=UTC)


class UsageQuery(BaseModel):
    """A time range and at most one scope attribute to narrow it to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime
    user_id: Attribute | None = None
    team_id: Attribute | None = None
    api_key_id: Attribute | None = None
    project_id: Attribute | None = None

    @model_validator(mode="after")
    def _sane_range(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_RANGE:
            raise ValueError("the range may span at most 400 days")
        if sum(v is not None for v in (self.user_id, self.team_id, self.api_key_id, self.project_id)) > 1:
            raise ValueError("narrow by one of user_id, team_id, api_key_id, project_id at a time")
        return self

    @classmethod
    def parse(
        cls, start: date | datetime | None, end: date | datetime | None, now: datetime, **scope: str | None
    ) -> UsageQuery:
        return cls(
            start=as_utc(start) if start is not None else default_start(now),
            end=as_utc(end) if end is not None else now,
            **scope,
        )

    @property
    def dimension(self) -> tuple[str, str]:
        for name in ("user_id", "team_id", "api_key_id", "project_id"):
            value = getattr(self, name)
            if value is not None:
                return name, value
        return "all", ALL

    @property
    def quarters(self) -> tuple[datetime, datetime]:
        return quarter_floor(self.start), quarter_ceil(self.end)


QUARTER = timedelta(minutes=QUARTER_MINUTES)
# the spend no label is named for (past a rollup's room, or events without that part); no label can
# be spelled so
OTHER_LABEL = "(other)"


def quarter_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % QUARTER_MINUTES, second=0, microsecond=0)


def quarter_ceil(moment: datetime) -> datetime:
    floor = quarter_floor(moment)
    return floor if floor == moment else floor + QUARTER


@dataclass
class Spend:
    cost_usd: Decimal = Decimal(0)
    events: int = 0
    unpriced_events: int = 0

    def add(self, other: Spend) -> None:
        self.cost_usd += other.cost_usd
        self.events += other.events
        self.unpriced_events += other.unpriced_events


ROLLUP_COUNTS = ("events", "unpriced_events", *COUNTED_NAMES)


@dataclass
class RollupRow:
    bucket: str
    cost_usd: Decimal = Decimal(0)
    events: int = 0
    unpriced_events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    images: int = 0
    # spend by label (labels past the item's room are in the totals only: "other")
    labels: dict[UsageLabel, Spend] = field(default_factory=dict)
    # rows written before labels: ("provider" | "model" | "operation" | "kind", name) -> spend
    legacy: dict[tuple[str, str], Spend] = field(default_factory=dict)

    def unlabelled_cost(self) -> Decimal:
        """Spend the row names no label for: labels past its room, totals-only commits, and (in a
        row written before labels) events no part was recorded for."""
        named = sum((spend.cost_usd for spend in self.labels.values()), Decimal(0))
        legacy = {part for part, _ in self.legacy}
        named += max(
            (
                sum((s.cost_usd for (p, _), s in self.legacy.items() if p == part), Decimal(0))
                for part in legacy
            ),
            default=Decimal(0),
        )
        return max(self.cost_usd - named, Decimal(0))


@dataclass
class Summary:
    start: datetime
    end: datetime
    totals: RollupRow
    by_provider: dict[str, Spend]
    by_model: dict[str, Spend]
    by_operation: dict[str, Spend]


@dataclass
class Trend:
    granularity: TrendGranularity
    points: list[tuple[datetime, Spend]]


class RollupReader(Protocol):
    def rows(
        self, tenant_id: str, dimension: str, value: str, granularity: Granularity, first: str, last: str
    ) -> list[RollupRow]:
        """Rollups of one dimension value with bucket keys in [first, last], in one partition query."""


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


@dataclass
class UsageQueries:
    reader: RollupReader
    ttl_seconds: float = 30.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict)

    def summary(self, principal: Principal, query: UsageQuery) -> Summary:
        principal.require(Action.READ)
        return self._cached(
            ("summary", principal.tenant_id, query), lambda: self._summary(principal.tenant_id, query)
        )

    def trend(self, principal: Principal, query: UsageQuery, granularity: TrendGranularity) -> Trend:
        principal.require(Action.READ)
        if granularity is TrendGranularity.HOUR and query.end - query.start > MAX_HOURLY_RANGE:
            from budget_core.domain.shared.errors import ValidationFailed

            raise ValidationFailed(
                "hourly trends span at most 31 days",
                details=[{"field": "granularity", "message": "use day for longer ranges"}],
            )
        return self._cached(
            ("trend", principal.tenant_id, query, granularity),
            lambda: self._trend(principal.tenant_id, query, granularity),
        )

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        now = self.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_seconds:
            cached: T = hit[1]
            return cached
        if len(self._cache) > 1000:
            self._cache.clear()
        value = compute()
        self._cache[key] = (now, value)
        return value

    def _summary(self, tenant: str, query: UsageQuery) -> Summary:
        dimension, value = query.dimension
        start, end = query.quarters
        return _summarize(query, rollup_rows(self.reader, tenant, dimension, value, start, end))

    def _trend(self, tenant: str, query: UsageQuery, granularity: TrendGranularity) -> Trend:
        dimension, value = query.dimension
        start, end = query.quarters
        if granularity is TrendGranularity.DAY:
            step, first = timedelta(days=1), start.replace(hour=0, minute=0)
            last = end.replace(hour=0, minute=0)
            if last < end:
                last += step
            rows = self.reader.rows(
                tenant, dimension, value, Granularity.DAY, _day(first), _day(last - timedelta(days=1))
            )
            label = _day
        else:
            step, first = timedelta(hours=1), start.replace(minute=0)
            last = end if end.minute == 0 else (end + timedelta(hours=1)).replace(minute=0)
            rows = self.reader.rows(
                tenant, dimension, value, Granularity.QUARTER, _hour(first), quarter_bucket(last - QUARTER)
            )
            label = _hour  # a point sums the hour's quarters (and an hourly row written before them)
        by_bucket: dict[str, Spend] = {}
        for row in rows:
            by_bucket.setdefault(row.bucket[:13] if label is _hour else row.bucket, Spend()).add(
                Spend(row.cost_usd, row.events, row.unpriced_events)
            )
        points = []
        moment = first
        while moment < last:
            points.append((moment, by_bucket.get(label(moment)) or Spend()))
            moment += step
        return Trend(granularity, points)


def rollup_rows(
    reader: RollupReader, tenant: str, dimension: str, value: str, start: datetime, end: datetime
) -> list[RollupRow]:
    """The rollups that cover [start, end) (whole UTC quarter hours) exactly once: daily rows for
    the whole days, quarter-hour rows for the quarters at either edge. (Rows written before quarter
    hours were hourly, ``H#2026-11-29T13``: they sort before that hour's first quarter and are read
    whole with any of its quarters.)"""
    midnight = start.replace(hour=0, minute=0)
    first_day = start if start == midnight else midnight + timedelta(days=1)
    last_day = end.replace(hour=0, minute=0)  # exclusive
    rows: list[RollupRow] = []
    if first_day < last_day:
        rows += reader.rows(
            tenant, dimension, value, Granularity.DAY, _day(first_day), _day(last_day - timedelta(days=1))
        )
        edges = [(start, first_day), (last_day, end)]
    else:
        edges = [(start, end)]
    for edge_start, edge_end in edges:
        if edge_start < edge_end:
            # from the hour, so that an hourly row of before is read whole (towards the limit)
            first = quarter_bucket(edge_start)
            rows += [
                row
                for row in reader.rows(
                    tenant,
                    dimension,
                    value,
                    Granularity.QUARTER,
                    _hour(edge_start),
                    quarter_bucket(edge_end - QUARTER),
                )
                if len(row.bucket) == len(_hour(edge_start)) or row.bucket >= first
            ]
    return rows


def day_quarter_rows(
    reader: RollupReader, tenant: str, dimension: str, value: str, day: str
) -> list[RollupRow]:
    """The quarter-hour rows of one UTC day (``2026-11-28``), and its hourly rows of before."""
    return reader.rows(tenant, dimension, value, Granularity.QUARTER, f"{day}T00", f"{day}T23:45")


def _summarize(query: UsageQuery, rows: Sequence[RollupRow]) -> Summary:
    totals = RollupRow(bucket="total")
    parts: dict[str, dict[str, Spend]] = {"provider": {}, "model": {}, "operation": {}, "kind": {}}
    for row in rows:
        for name in ("cost_usd", *ROLLUP_COUNTS):
            setattr(totals, name, getattr(totals, name) + getattr(row, name))
        for label, spend in row.labels.items():
            for part, name in _parts_of(label):
                parts[part].setdefault(name, Spend()).add(spend)
        for (part, name), spend in row.legacy.items():
            parts[part].setdefault(name, Spend()).add(spend)
    for named in parts.values():
        _add_other(named, totals)
    start, end = query.quarters
    return Summary(start, end, totals, parts["provider"], parts["model"], parts["operation"])


def _parts_of(label: UsageLabel) -> list[tuple[str, str]]:
    named = (("provider", label.provider), ("model", label.model), ("operation", label.operation))
    return [(part, name) for part, name in named if name is not None] + [("kind", label.kind)]


def _add_other(named: dict[str, Spend], totals: RollupRow) -> None:
    """What the totals hold beyond the named labels, so that every breakdown adds up to them."""
    other = Spend(
        totals.cost_usd - sum((s.cost_usd for s in named.values()), Decimal(0)),
        totals.events - sum(s.events for s in named.values()),
        totals.unpriced_events - sum(s.unpriced_events for s in named.values()),
    )
    if other.events > 0 or other.cost_usd > 0:
        named[OTHER_LABEL] = other
