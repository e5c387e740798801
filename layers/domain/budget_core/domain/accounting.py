"""Exactly-once accounting, the in-memory half: which counters each event moves, summed per
counter, packed into commits of at most 100 actions (one DynamoDB transaction each).

A commit holds events and the counter increments of exactly those events, so a transaction either
applies an event and everything it moves, or nothing (invariant 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from budget_core.domain.matching import SCOPE_ATTRIBUTE, matching_policies
from budget_core.domain.periods import period_key
from budget_core.domain.policy import Policy
from budget_core.domain.pricing.quote import PriceQuote
from budget_core.domain.usage import UsageEvent

MAX_TRANSACTION_ACTIONS = 100
ALL = "*"
ROLLUP_DIMENSIONS: tuple[str, ...] = ("all", *SCOPE_ATTRIBUTE.values())


class Granularity(StrEnum):
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True, slots=True)
class PricedEvent:
    event: UsageEvent
    quote: PriceQuote
    record_id: str  # the stream record it came from (Kinesis sequence number)


@dataclass(frozen=True, slots=True)
class PolicyCounterKey:
    tenant_id: str
    policy_id: str
    period_key: str


@dataclass(frozen=True, slots=True)
class RollupKey:
    """Spend of one tenant, of one dimension value ("all", or a user/team/api key/project id),
    in one UTC day or hour."""

    tenant_id: str
    dimension: str
    value: str
    granularity: Granularity
    bucket: str  # 2026-11-29 or 2026-11-29T13


CounterKey = PolicyCounterKey | RollupKey


@dataclass(slots=True)
class Totals:
    cost_usd: Decimal = Decimal(0)
    events: int = 0
    unpriced_events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    images: int = 0

    def add(self, priced: PricedEvent) -> None:
        self.events += 1
        if priced.quote.cost_usd is None:
            self.unpriced_events += 1
        else:
            self.cost_usd += priced.quote.cost_usd
        usage = priced.event.usage
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.images += usage.images


@dataclass(slots=True)
class Breakdown:
    cost_usd: Decimal = Decimal(0)
    events: int = 0


@dataclass(slots=True)
class CounterDelta:
    """What one commit adds to one counter item."""

    totals: Totals = field(default_factory=Totals)
    # ("provider" | "model" | "operation", name) -> spend; daily rollups only
    breakdown: dict[tuple[str, str], Breakdown] = field(default_factory=dict)
    policy: Policy | None = None  # the snapshot a policy counter carries for the alert function
    first_moment: datetime | None = None  # an event time inside the counter's period
    settled_reservations: set[str] = field(default_factory=set)


@dataclass
class Commit:
    events: list[PricedEvent]
    deltas: dict[CounterKey, CounterDelta]

    @property
    def actions(self) -> int:
        return len(self.events) + len(self.deltas)


@dataclass(frozen=True, slots=True)
class _Targets:
    policies: tuple[tuple[PolicyCounterKey, Policy], ...]
    rollups: tuple[RollupKey, ...]

    def keys(self) -> set[CounterKey]:
        return {k for k, _ in self.policies} | set(self.rollups)


def targets_of(event: UsageEvent, policies: Sequence[Policy]) -> _Targets:
    attributes = {name: event.scope_value(name) for name in SCOPE_ATTRIBUTE.values()}
    matched = matching_policies(policies, attributes, event.provider, event.model, event.kind)
    policy_keys = tuple(
        (PolicyCounterKey(event.tenant_id, p.policy_id, period_key(p.period, p.timezone, event.timestamp)), p)
        for p in matched
    )
    moment = event.timestamp
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    hour = f"{day}T{moment.hour:02d}"
    rollups = []
    for dimension in ROLLUP_DIMENSIONS:
        value = ALL if dimension == "all" else attributes[dimension]
        if value is None:
            continue
        rollups.append(RollupKey(event.tenant_id, dimension, value, Granularity.DAY, day))
        rollups.append(RollupKey(event.tenant_id, dimension, value, Granularity.HOUR, hour))
    return _Targets(policy_keys, tuple(rollups))


def _apply(deltas: dict[CounterKey, CounterDelta], priced: PricedEvent, targets: _Targets) -> None:
    event = priced.event
    for key, policy in targets.policies:
        delta = deltas.get(key)
        if delta is None:
            delta = deltas[key] = CounterDelta(policy=policy, first_moment=event.timestamp)
        delta.totals.add(priced)
        if event.reservation_id:
            delta.settled_reservations.add(event.reservation_id)
    for rollup in targets.rollups:
        delta = deltas.get(rollup)
        if delta is None:
            delta = deltas[rollup] = CounterDelta()
        delta.totals.add(priced)
        if rollup.granularity is Granularity.DAY:
            for part, name in (
                ("provider", event.provider),
                ("model", event.model),
                ("operation", event.operation),
            ):
                if name is not None:
                    item = delta.breakdown.get((part, name))
                    if item is None:
                        item = delta.breakdown[(part, name)] = Breakdown()
                    item.events += 1
                    if priced.quote.cost_usd is not None:
                        item.cost_usd += priced.quote.cost_usd


def _order(priced: PricedEvent) -> tuple[str, ...]:
    # Neighbouring events of one tenant, team and user share most counters, so they pack densely.
    e = priced.event
    return (e.tenant_id, e.team_id or "", e.project_id or "", e.user_id or "", e.api_key_id or "")


def plan_commits(
    events: Iterable[PricedEvent],
    policies_by_tenant: dict[str, Sequence[Policy]],
    max_actions: int = MAX_TRANSACTION_ACTIONS,
) -> list[Commit]:
    """Packs events into commits: each commit's events plus the counters they move fit one
    transaction. Events must be unique per (tenant, event_id) already."""
    commits: list[Commit] = []
    current = Commit([], {})
    for priced in sorted(events, key=_order):
        targets = targets_of(priced.event, policies_by_tenant.get(priced.event.tenant_id, ()))
        new_keys = targets.keys() - current.deltas.keys()
        if len(targets.keys()) + 1 > max_actions:
            raise ValueError(f"event {priced.event.event_id} moves more counters than one transaction holds")
        if current.actions + 1 + len(new_keys) > max_actions:
            commits.append(current)
            current = Commit([], {})
        current.events.append(priced)
        _apply(current.deltas, priced, targets)
    if current.events:
        commits.append(current)
    return commits


def without(
    commit: Commit, dropped: set[tuple[str, str]], policies_by_tenant: dict[str, Sequence[Policy]]
) -> Commit:
    """The commit again, less the events named by (tenant_id, event_id), its counters recomputed."""
    kept = [p for p in commit.events if (p.event.tenant_id, p.event.event_id) not in dropped]
    if not kept:
        return Commit([], {})
    [rebuilt] = plan_commits(kept, policies_by_tenant, max_actions=10**9)
    return rebuilt
