"""Exactly-once accounting, the in-memory half: which counters each event moves, summed per
counter, packed into commits of at most 100 actions (one DynamoDB transaction each).

A commit holds events and the counter increments of exactly those events, so a transaction either
applies an event and everything it moves, or nothing (invariant 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from budget_core.domain.policies.matching import SCOPE_ATTRIBUTE, matching_policies
from budget_core.domain.policies.policy import Policy, ScopeType
from budget_core.domain.shared.periods import period_key
from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.pricing.quote import PriceQuote
from budget_core.domain.usage.quantities import COUNTED_NAMES

MAX_TRANSACTION_ACTIONS = 100
ALL = "*"
ROLLUP_DIMENSIONS: tuple[str, ...] = ("all", *SCOPE_ATTRIBUTE.values())


class OversizedEvents(Exception):
    """Events that fall under more counters than one transaction can move (too many overlapping
    policies): they cannot be counted atomically and are rejected, not retried."""

    def __init__(self, events: list[PricedEvent]) -> None:
        super().__init__(f"{len(events)} events move more counters than one transaction holds")
        self.events = events


class Granularity(StrEnum):
    DAY = "day"
    # UTC quarter hours: every UTC offset in use is a multiple of 15 minutes, so a period of any
    # time zone starts on one, and seeding or a summary's edges need nothing finer
    QUARTER = "quarter"


QUARTER_MINUTES = 15


def quarter_bucket(moment: datetime) -> str:
    """The quarter-hour rollup bucket of a UTC moment: 2026-11-29T13:45."""
    minute = moment.minute - moment.minute % QUARTER_MINUTES
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{minute:02d}"


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
    basis: int = 1  # the policy version whose scope and filters this counter counts


@dataclass(frozen=True, slots=True)
class RollupKey:
    """Spend of one tenant, of one dimension value ("all", or a user/team/api key/project id),
    in one UTC day or quarter hour."""

    tenant_id: str
    dimension: str
    value: str
    granularity: Granularity
    bucket: str  # 2026-11-29 or 2026-11-29T13:45


CounterKey = PolicyCounterKey | RollupKey


@dataclass(slots=True)
class Totals:
    # the counted quantities' fields are those of usage.quantities.COUNTED (a test holds them to it)
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
        for name in COUNTED_NAMES:
            setattr(self, name, getattr(self, name) + getattr(usage, name))

    def merge(self, other: Totals) -> None:
        self.cost_usd += other.cost_usd
        self.events += other.events
        self.unpriced_events += other.unpriced_events
        for name in COUNTED_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class UsageLabel:
    """What a rollup breaks spend down by: the free-form labels of an event, together, so that
    any combination of policy filters (provider, model, kind) can be read back exactly, and the
    summaries' spend by provider, model, operation and kind is a sum over them."""

    provider: str | None
    model: str | None
    kind: str
    operation: str | None

    @classmethod
    def of(cls, event: UsageEvent) -> UsageLabel:
        return cls(event.provider, event.model, event.kind.value, event.operation)


@dataclass(slots=True)
class Breakdown:
    cost_usd: Decimal = Decimal(0)
    events: int = 0
    unpriced_events: int = 0


@dataclass(slots=True)
class CounterDelta:
    """What one commit adds to one counter item."""

    totals: Totals = field(default_factory=Totals)
    # rollups only: the spend by label, and the labels a policy with filters counted (those keep
    # an entry of their own whatever the labels' room, so the policy can be seeded exactly)
    breakdown: dict[UsageLabel, Breakdown] = field(default_factory=dict)
    kept: set[UsageLabel] = field(default_factory=set)
    policy: Policy | None = None  # the snapshot a policy counter carries for the alert function
    first_moment: datetime | None = None  # an event time inside the counter's period
    settled_reservations: set[str] = field(default_factory=set)  # holds kept one per reservation
    # expiry minute (epoch seconds) -> amount that settled reservations take off the held sums
    released: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settlement:
    """An active reservation that a usage event settles: its holds come off every counter it held
    (whether or not the event falls under that policy), in the event's own transaction."""

    tenant_id: str
    reservation_id: str
    amount_usd: Decimal
    expires_at_epoch: int
    counters: tuple[PolicyCounterKey, ...]
    summed: bool = True  # False: a hold kept one attribute per reservation (placed before sums)


@dataclass
class Commit:
    events: list[PricedEvent]
    deltas: dict[CounterKey, CounterDelta]
    # tenant -> the configuration version its events were matched under: each is one condition
    # action of the transaction, so no event is counted under a stale set of policies (invariant 9)
    config_versions: dict[str, int] = field(default_factory=dict)
    # (tenant, reservation id) -> the reservation its events settle: one conditional update each
    settlements: dict[tuple[str, str], Settlement] = field(default_factory=dict)
    breakdowns: bool = True  # whether its rollups carry the breakdown by label (else: "other")

    @property
    def actions(self) -> int:
        return len(self.events) + len(self.deltas) + len(self.config_versions) + len(self.settlements)


@dataclass(frozen=True, slots=True)
class _Targets:
    policies: tuple[tuple[PolicyCounterKey, Policy], ...]
    rollups: tuple[RollupKey, ...]

    def counter_keys(self) -> set[CounterKey]:
        return {k for k, _ in self.policies} | set(self.rollups)


def targets_of(event: UsageEvent, policies: Sequence[Policy]) -> _Targets:
    attributes = {name: event.scope_value(name) for name in SCOPE_ATTRIBUTE.values()}
    matched = matching_policies(policies, attributes, event.provider, event.model, event.kind)
    policy_keys = tuple(
        (
            PolicyCounterKey(
                event.tenant_id,
                p.policy_id,
                period_key(p.period, p.timezone, event.timestamp),
                p.basis_version,
            ),
            p,
        )
        for p in matched
    )
    moment = event.timestamp
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    quarter = quarter_bucket(moment)
    rollups = []
    for dimension in ROLLUP_DIMENSIONS:
        value = ALL if dimension == "all" else attributes[dimension]
        if value is None:
            continue
        rollups.append(RollupKey(event.tenant_id, dimension, value, Granularity.DAY, day))
        rollups.append(RollupKey(event.tenant_id, dimension, value, Granularity.QUARTER, quarter))
    return _Targets(policy_keys, tuple(rollups))


# Events that agree on everything a counter key depends on move the same counters. Periods start at
# local midnight, and every UTC offset in use is a multiple of 15 minutes, so events in the same UTC
# quarter hour fall in the same period of any policy, whatever its time zone.
_SLOT_SECONDS = 900


_SCOPE_NAMES = tuple(SCOPE_ATTRIBUTE.values())


def _group_key(event: UsageEvent) -> tuple[object, ...]:
    """Everything ``targets_of`` reads: events equal in all of it move the same counters. Derived
    from the scope registry, so a new scope attribute cannot be left out."""
    return (
        event.tenant_id,
        *(event.scope_value(name) for name in _SCOPE_NAMES),
        event.provider,
        event.model,
        event.operation,
        event.kind,
        int(event.timestamp.timestamp()) // _SLOT_SECONDS,
        event.reservation_id,
    )


# Labels one rollup update may carry: each is up to three ADDs and a condition of the update
# expression, which DynamoDB caps at 4 KB (moto does not); 60 keep it under 3 KB whatever the labels.
MAX_BREAKDOWN_PER_UPDATE = 60


def _too_many_labels(commit: Commit, targets: _Targets, label: UsageLabel) -> bool:
    for rollup in targets.rollups:
        delta = commit.deltas.get(rollup)
        if delta is None or label in delta.breakdown:
            continue
        if len(delta.breakdown) >= MAX_BREAKDOWN_PER_UPDATE:
            return True
    return False


def _apply(
    deltas: dict[CounterKey, CounterDelta],
    group: Sequence[PricedEvent],
    targets: _Targets,
    breakdowns: bool = True,
) -> None:
    """Adds ``group`` (events with one group key) to the counters it moves: summed once, added once
    per counter."""
    totals = Totals()
    for priced in group:
        totals.add(priced)
    sample = group[0].event
    for key, policy in targets.policies:
        delta = deltas.get(key)
        if delta is None:
            delta = deltas[key] = CounterDelta(policy=policy, first_moment=sample.timestamp)
        delta.totals.merge(totals)
        if sample.reservation_id:
            delta.settled_reservations.add(sample.reservation_id)
    label = UsageLabel.of(sample)
    # the rollups a filtered policy is seeded from (its own scope's) keep this label's entry
    keeping = {seeded_from(policy) for _, policy in targets.policies if not policy.filters.is_empty}
    for rollup in targets.rollups:
        delta = deltas.get(rollup)
        if delta is None:
            delta = deltas[rollup] = CounterDelta()
        delta.totals.merge(totals)
        if not breakdowns:
            continue  # a totals-only commit adds no attribute: its spend reads as "other"
        item = delta.breakdown.get(label)  # daily and quarter-hour rollups both carry the labels
        if item is None:
            item = delta.breakdown[label] = Breakdown()
        item.events += totals.events
        item.unpriced_events += totals.unpriced_events
        item.cost_usd += totals.cost_usd
        if (rollup.dimension, rollup.value) in keeping:
            delta.kept.add(label)


def seeded_from(policy: Policy) -> tuple[str, str]:
    """The rollup dimension and value a policy's counter is seeded from."""
    if policy.scope.type is ScopeType.TENANT or policy.scope.id is None:
        return "all", ALL
    return SCOPE_ATTRIBUTE[policy.scope.type], policy.scope.id


def _release(commit: Commit, settlement: Settlement) -> None:
    """The reservation's holds come off each counter it held, once per commit."""
    commit.settlements[(settlement.tenant_id, settlement.reservation_id)] = settlement
    for key in settlement.counters:
        delta = commit.deltas.get(key)
        if delta is None:
            delta = commit.deltas[key] = CounterDelta()
        if settlement.summed:
            at = settlement.expires_at_epoch
            delta.released[at] = delta.released.get(at, Decimal(0)) + settlement.amount_usd
        delta.settled_reservations.add(settlement.reservation_id)


def plan_commits(
    events: Iterable[PricedEvent],
    policies_by_tenant: dict[str, Sequence[Policy]],
    max_actions: int = MAX_TRANSACTION_ACTIONS,
    config_versions: Mapping[str, int] | None = None,
    settlements: Mapping[tuple[str, str], Settlement] | None = None,
    breakdowns: bool = True,
) -> list[Commit]:
    """Packs events into commits: each commit's events, the counters they move and one
    configuration check per tenant fit one transaction. Events must be unique per (tenant,
    event_id) already. ``breakdowns=False``: the rollups take the totals only (the fallback when
    the store refuses a commit whose breakdowns would outgrow an item)."""
    versions = config_versions or {}
    active = settlements or {}
    groups: dict[tuple[object, ...], list[PricedEvent]] = {}
    for priced in events:
        key = _group_key(priced.event)
        group = groups.get(key)
        if group is None:
            groups[key] = [priced]
        else:
            group.append(priced)
    commits: list[Commit] = []
    oversized: list[PricedEvent] = []
    current = Commit([], {}, breakdowns=breakdowns)
    # Neighbouring groups of one tenant, team and project share most counters, so they pack densely.
    for key in sorted(groups, key=lambda k: tuple("" if part is None else str(part) for part in k)):
        remaining = groups[key]
        tenant = remaining[0].event.tenant_id
        targets = targets_of(remaining[0].event, policies_by_tenant.get(tenant, ()))
        target_keys = targets.counter_keys()
        reservation = remaining[0].event.reservation_id
        settlement = active.get((tenant, reservation)) if reservation else None
        settled_keys: set[CounterKey] = set(settlement.counters) if settlement else set()
        if len(target_keys | settled_keys) + 2 + (settlement is not None) > max_actions:
            oversized.extend(remaining)
            continue
        if (
            breakdowns
            and current.events
            and _too_many_labels(current, targets, UsageLabel.of(remaining[0].event))
        ):
            commits.append(current)
            current = Commit([], {}, breakdowns=breakdowns)
        while remaining:
            new_check = 0 if tenant in current.config_versions else 1
            settles = (
                settlement is not None and (tenant, settlement.reservation_id) not in current.settlements
            )
            new_keys = (target_keys | (settled_keys if settles else set())) - current.deltas.keys()
            room = max_actions - current.actions - len(new_keys) - new_check - settles
            if room <= 0:
                commits.append(current)
                current = Commit([], {}, breakdowns=breakdowns)
                continue
            taken, remaining = remaining[:room], remaining[room:]
            current.events.extend(taken)
            current.config_versions[tenant] = versions.get(tenant, 0)
            _apply(current.deltas, taken, targets, breakdowns)
            if settles and settlement is not None:
                _release(current, settlement)
    if current.events:
        commits.append(current)
    if oversized:
        raise OversizedEvents(oversized)
    return commits


def without(
    commit: Commit, dropped: set[tuple[str, str]], policies_by_tenant: dict[str, Sequence[Policy]]
) -> Commit:
    """The commit again, less the events named by (tenant_id, event_id), its counters recomputed."""
    kept = [p for p in commit.events if (p.event.tenant_id, p.event.event_id) not in dropped]
    if not kept:
        return Commit([], {})
    [rebuilt] = plan_commits(
        kept,
        policies_by_tenant,
        max_actions=10**9,
        config_versions=commit.config_versions,
        settlements=commit.settlements,
        breakdowns=commit.breakdowns,
    )
    return rebuilt
