"""A counter starts from the spend already recorded for its scope (invariant 9).

When a policy is created, or its scope, filters, period or time zone change, its counter for the
current period counts only what is committed from then on (every commit checks the tenant's
configuration version). What was recorded before sits in the rollups; seeding adds it, once.

The rollups hold both kinds of spend: what came before the policy (not in the counter) and what
came after (in the counter too, committed with it in one transaction). So the seed is the rollups'
matching spend less the counter's own, read with nothing committed in between: the counter is read
before and after the rollups, and the seed is written only on the ``rev`` both reads saw, with a
marker that makes a second seeding impossible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from budget_core.domain.checks.ports import CounterReader
from budget_core.domain.checks.spend import CounterState, counter_key
from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import StoreUnavailable
from budget_core.domain.shared.periods import PeriodWindow
from budget_core.domain.usage.accounting import PolicyCounterKey, seeded_from
from budget_core.domain.usage.event import MAX_FUTURE_SKEW
from budget_core.domain.usage.queries import (
    RollupReader,
    RollupRow,
    day_quarter_rows,
    quarter_ceil,
    quarter_floor,
    rollup_rows,
)

# Days read again from their quarter hours when their row left spend unnamed, costliest first:
# one paged Query each, once per seeding.
MAX_REFINED_DAYS = 62


class SeedStore(Protocol):
    def add_seed(
        self,
        policy: Policy,
        key: PolicyCounterKey,
        window: PeriodWindow,
        amount: Decimal,
        expected_rev: int | None,
        now: datetime,
    ) -> bool:
        """Add ``amount`` to the counter and mark it seeded, only if it is unseeded and still at
        ``expected_rev`` (None: the counter does not exist). False when either is no longer so."""


def needs_seed(policy: Policy, window: PeriodWindow, state: CounterState) -> bool:
    """Only a period that began before the policy's basis took effect has spend from before it."""
    return policy.include_existing_spend and window.start < policy.counting_since and not state.seeded


def recorded_spend(policy: Policy, rows: Sequence[RollupRow]) -> Decimal:
    """The spend of ``rows`` (one scope's rollups) that the policy's filters select.

    Rollups break spend down by label (provider, model, kind and operation together), so any
    combination of filters reads exactly what it selects. Spend a row names no label for (labels
    past its room, which a filtered policy's own labels never are from its creation on) counts for
    a filtered policy, towards its limit rather than past it (``refined_spend`` narrows it); so do
    rows written before labels, where the most specific filter decides."""
    f = policy.filters
    if f.is_empty:
        return sum((row.cost_usd for row in rows), Decimal(0))
    kind = f.kind.value if f.kind is not None else None
    total = Decimal(0)
    for row in rows:
        for label, spend in row.labels.items():
            if (
                (f.provider is None or label.provider == f.provider)
                and (f.model is None or label.model == f.model)
                and (kind is None or label.kind == kind)
            ):
                total += spend.cost_usd
        if row.legacy:
            total += _legacy_spend(policy, row)
        total += row.unlabelled_cost()
    return total


def refined_spend(
    policy: Policy, rows: Sequence[RollupRow], quarters_of: Callable[[str], Sequence[RollupRow]]
) -> Decimal:
    """``recorded_spend``, with each whole day whose row left spend unnamed read again from that
    day's quarter-hour rows, each with a room of its own: a scope that used more labels in a day
    than its daily row names seldom does within one quarter hour. Either reading counts named
    labels exactly and unnamed spend whole, so each is at least the truth and the lower is kept."""
    if policy.filters.is_empty:
        return recorded_spend(policy, rows)
    unnamed = sorted(
        (row for row in rows if _is_day(row) and not row.legacy and row.unlabelled_cost() > 0),
        key=lambda row: (-row.unlabelled_cost(), row.bucket),
    )[:MAX_REFINED_DAYS]
    refined = {id(row) for row in unnamed}
    total = recorded_spend(policy, [row for row in rows if id(row) not in refined])
    for day in unnamed:
        total += min(recorded_spend(policy, [day]), recorded_spend(policy, quarters_of(day.bucket)))
    return total


def _is_day(row: RollupRow) -> bool:
    return "T" not in row.bucket


def _legacy_spend(policy: Policy, row: RollupRow) -> Decimal:
    f = policy.filters
    kind = f.kind.value if f.kind is not None else None
    narrowest = (("model", f.model), ("provider", f.provider), ("kind", kind))
    part = next((pair for pair in narrowest if pair[1] is not None), None)
    assert part is not None
    spend = row.legacy.get((part[0], str(part[1])))
    return spend.cost_usd if spend is not None else Decimal(0)


@dataclass
class CounterSeeder:
    rollups: RollupReader  # strongly consistent reads
    counters: CounterReader
    store: SeedStore
    clock: Clock
    max_attempts: int = 5

    def seed_current(self, policy: Policy) -> bool:
        """Seed the policy's counter of the current period if it needs it; True when it did.
        StoreUnavailable when the counter kept moving (a later read seeds it)."""
        key, window = counter_key(policy, self.clock.now())
        return self.seed(policy, key, window)

    def seed(self, policy: Policy, key: PolicyCounterKey, window: PeriodWindow) -> bool:
        """Seed the counter ``key`` of the period ``window`` if it needs it (the current period,
        or an earlier one a late event just opened); True when it did."""
        now = self.clock.now()
        for _ in range(self.max_attempts):
            before = self.counters.read([key])[key]
            if not needs_seed(policy, window, before):
                return False
            recorded = self._recorded(policy, window, now)
            after = self.counters.read([key])[key]
            if after.rev != before.rev or after.seeded:
                continue  # something committed meanwhile: its spend may be in one read only
            amount = max(recorded - before.spent_usd, Decimal(0))
            if self.store.add_seed(policy, key, window, amount, before.rev, now):
                return True
        raise StoreUnavailable("the counter kept changing while it was seeded")

    def seed_where_needed(
        self,
        keyed: Sequence[tuple[Policy, PolicyCounterKey, PeriodWindow]],
        states: dict[PolicyCounterKey, CounterState],
    ) -> bool:
        """Seeds the counters among ``keyed`` still waiting for the spend recorded before their
        policy (a write whose own seeding was cut short); True when any was, so they are read again."""
        seeded = False
        for policy, key, window in keyed:
            if needs_seed(policy, window, states.get(key) or CounterState()):
                seeded = self.seed_current(policy) or seeded
        return seeded

    def _recorded(self, policy: Policy, window: PeriodWindow, now: datetime) -> Decimal:
        dimension, value = seeded_from(policy)
        # Periods start at local midnight, a whole UTC quarter hour in every zone: the rollups'
        # quarter hours cover a period exactly.
        start = quarter_floor(window.start)
        end = quarter_ceil(min(window.end, now + MAX_FUTURE_SKEW))  # events may be stamped ahead
        if end <= start:
            return Decimal(0)
        rows = rollup_rows(self.rollups, policy.tenant_id, dimension, value, start, end)
        return refined_spend(
            policy, rows, lambda day: day_quarter_rows(self.rollups, policy.tenant_id, dimension, value, day)
        )
