"""``GET /v1/policies/{id}/status``: the current period of one policy, with its forecast."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from budget_core.domain.checks.ports import CounterReader
from budget_core.domain.checks.spend import Standing, counter_key, forecast
from budget_core.domain.policies.policy import POLICY_ID
from budget_core.domain.policies.ports import PolicyRepository
from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import NotFound
from budget_core.domain.shared.money import percent_of

if TYPE_CHECKING:  # the seeder is built by the API's wiring, on first use
    from budget_core.domain.checks.seeding import CounterSeeder

# No forecast before 5 % of the period has gone by: the first cent of a month says nothing.
FORECAST_MIN_ELAPSED = Decimal("0.05")


@dataclass(frozen=True)
class PolicyStatusView:
    standing: Standing
    percent_used: Decimal
    forecast_usd: Decimal | None


@dataclass
class BudgetStatus:
    policies: PolicyRepository
    counters: CounterReader
    clock: Clock
    seeder: CounterSeeder | None = None

    def status(self, principal: Principal, policy_id: str) -> PolicyStatusView:
        principal.require(Action.READ)
        policy = self.policies.get(principal.tenant_id, policy_id) if POLICY_ID.match(policy_id) else None
        if policy is None:
            raise NotFound(f"policy '{policy_id}' does not exist")
        now = self.clock.now()
        key, window = counter_key(policy, now)
        state = self.counters.read([key])[key]
        if self.seeder is not None and self.seeder.seed_where_needed([(policy, key, window)], {key: state}):
            state = self.counters.read([key])[key]
        standing = Standing(policy, window, state.spent_usd, state.reserved_at(now))
        percent = percent_of(standing.spent_usd, policy.limit_usd)
        return PolicyStatusView(
            standing, percent, forecast(standing.spent_usd, window, now, FORECAST_MIN_ELAPSED)
        )
