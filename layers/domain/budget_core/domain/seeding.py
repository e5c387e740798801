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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from budget_core.domain.accounting import ALL, PolicyCounterKey
from budget_core.domain.budget_checks import CounterReader
from budget_core.domain.ingestion_ports import TransientStoreError
from budget_core.domain.matching import SCOPE_ATTRIBUTE
from budget_core.domain.periods import PeriodWindow
from budget_core.domain.policy import Policy, ScopeType
from budget_core.domain.spend import CounterState, counter_key
from budget_core.domain.usage import MAX_FUTURE_SKEW
from budget_core.domain.usage_queries import RollupReader, RollupRow, rollup_rows


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

    Rollups break spend down by provider, model and kind one at a time: with several filters the
    most specific one decides (a model almost always names its provider and kind)."""
    f = policy.filters
    kind = f.kind.value if f.kind is not None else None
    narrowest = [
        (name, value) for name, value in (("model", f.model), ("provider", f.provider), ("kind", kind))
    ]
    part = next(((name, value) for name, value in narrowest if value is not None), None)
    total = Decimal(0)
    for row in rows:
        if part is None:
            total += row.cost_usd
        else:
            spend = row.breakdown.get(part)
            if spend is not None:
                total += spend.cost_usd
    return total


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class CounterSeeder:
    rollups: RollupReader  # strongly consistent reads
    counters: CounterReader
    store: SeedStore
    now: Callable[[], datetime]
    max_attempts: int = 5

    def seed_current(self, policy: Policy) -> bool:
        """Seed the policy's counter of the current period if it needs it; True when it did.
        TransientStoreError when the counter kept moving (a later read seeds it)."""
        now = self.now()
        key, window = counter_key(policy, now)
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
        raise TransientStoreError("the counter kept changing while it was seeded")

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
        if policy.scope.type is ScopeType.TENANT:
            dimension, value = "all", ALL
        else:
            assert policy.scope.id is not None
            dimension, value = SCOPE_ATTRIBUTE[policy.scope.type], policy.scope.id
        # Rollups are whole UTC hours: a period starting inside an hour (zones at :30 or :45) takes
        # that whole hour, erring towards the limit rather than past it.
        start = _hour_floor(window.start)
        end = min(window.end, now + MAX_FUTURE_SKEW)  # events may be stamped that far ahead
        end_hour = _hour_floor(end)
        if end_hour < end:
            end_hour += timedelta(hours=1)
        if end_hour <= start:
            return Decimal(0)
        rows = rollup_rows(self.rollups, policy.tenant_id, dimension, value, start, end_hour)
        return recorded_spend(policy, rows)
