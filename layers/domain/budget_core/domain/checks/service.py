"""Pre-flight checks (BUD-002 check_budget) and atomic reservations.

A check reads the current-period counters of every active policy the coming call falls under and
answers allow / deny / allow with a soft limit. A reservation places holds on every hard-limit
policy at once, each on the exact counter state that was evaluated (optimistic, by ``rev``): two
concurrent reservations can never both take the last dollar (invariant 5).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget_core.domain.checks.models import (
    RESERVATION_ID,
    CheckRequest,
    CheckResult,
    PolicyVerdict,
    Reservation,
    ReservationRequest,
)
from budget_core.domain.checks.ports import CounterReader, HoldConflict, ReservationStore
from budget_core.domain.checks.spend import CounterState, Standing, counter_key, hold_expiry
from budget_core.domain.policies.matching import matching_policies
from budget_core.domain.policies.policy import Enforcement, FailMode, Policy, PolicyStatus, UsageKind
from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import (
    BudgetExceeded,
    IdempotencyKeyReused,
    NotFound,
    StoreUnavailable,
    ValidationFailed,
)
from budget_core.domain.shared.ids import new_id
from budget_core.domain.tenants.config import StaleConfiguration, TenantBudgetConfig, TenantConfigSource
from budget_core.domain.usage.accounting import PolicyCounterKey
from budget_core.domain.usage.event import (
    TokenAndImageUsage,
    UsageEvent,
)
from budget_core.domain.usage.pricing.pricer import Pricer

if TYPE_CHECKING:
    from budget_core.domain.checks.seeding import CounterSeeder


def _hash_request(request: CheckRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


@dataclass
class BudgetGuard:
    configs: TenantConfigSource
    counters: CounterReader
    store: ReservationStore
    pricer: Pricer
    clock: Clock
    max_attempts: int = 100
    sleep: Callable[[float], None] = time.sleep
    seeder: CounterSeeder | None = None

    # -- check --------------------------------------------------------------------------------

    def check(self, principal: Principal, request: CheckRequest, _refreshed: bool = False) -> CheckResult:
        principal.require(Action.SPEND)
        tenant = principal.tenant_id
        now = self.clock.now()
        config = self.configs.load(tenant)
        amount = self._amount(request, config)
        policies = self._policies(config, request)
        keyed = [(p, *counter_key(p, now)) for p in policies]
        try:
            states, version = self.counters.read_with_config(tenant, [key for _, key, _ in keyed])
            if self._seeded(keyed, states):
                states, version = self.counters.read_with_config(tenant, [key for _, key, _ in keyed])
        except StoreUnavailable:
            return self._fail_modes(amount, keyed)
        if version != config.version and not _refreshed:
            # a policy was created, edited or deleted since this instance read the tenant: the answer
            # must be by the policies in force, so read them again (once: the same round trip count
            # as any cold check)
            self.configs.invalidate(tenant)
            return self.check(principal, request, _refreshed=True)
        if not keyed:
            return CheckResult(amount, [])
        return CheckResult(
            amount, [self._verdict(p, key, window, states.get(key), amount, now) for p, key, window in keyed]
        )

    def _verdict(
        self,
        policy: Policy,
        key: PolicyCounterKey,
        window: Any,
        state: CounterState | None,
        amount: Decimal,
        now: datetime,
    ) -> PolicyVerdict:
        state = state or CounterState()
        standing = Standing(policy, window, state.spent_usd, state.reserved_at(now))
        over = standing.would_exceed(amount)
        hard = policy.enforcement is Enforcement.HARD
        return PolicyVerdict(
            standing,
            policy,
            key.period_key,
            window.end,
            blocking=over and hard,
            over_soft_limit=over and not hard,
        )

    def _fail_modes(self, amount: Decimal, keyed: list[tuple[Policy, PolicyCounterKey, Any]]) -> CheckResult:
        verdicts = [
            PolicyVerdict(
                None,
                p,
                key.period_key,
                window.end,
                blocking=p.effective_fail_mode is FailMode.CLOSED,
                over_soft_limit=False,
            )
            for p, key, window in keyed
        ]
        return CheckResult(amount, verdicts, degraded=True)

    # -- reservations -------------------------------------------------------------------------

    def reserve(
        self, principal: Principal, request: ReservationRequest, idempotency_key: str | None
    ) -> Reservation:
        principal.require(Action.SPEND)
        tenant = principal.tenant_id
        request_hash = _hash_request(request)
        reservation_id = self._reservation_id(tenant, idempotency_key)
        existing = self.store.get(tenant, reservation_id)
        if existing is not None:
            return self._replay(existing, request_hash)
        # priced and matched once per configuration; only the counters are read again when a hold
        # loses a race
        config = self.configs.load(tenant)
        amount = self._amount(request, config)
        hard = [p for p in self._policies(config, request) if p.enforcement is Enforcement.HARD]
        for attempt in range(self.max_attempts):
            now = self.clock.now()
            keyed = [(p, *counter_key(p, now)) for p in hard]
            states = self.counters.read([key for _, key, _ in keyed]) if keyed else {}
            if self._seeded(keyed, states):
                states = self.counters.read([key for _, key, _ in keyed])
            verdicts = [
                self._verdict(p, key, window, states.get(key), amount, now) for p, key, window in keyed
            ]
            blocking = [v for v in verdicts if v.blocking]
            if blocking:
                raise BudgetExceeded(
                    "the reservation would take a hard-limit budget past its limit",
                    details=[
                        {
                            "policy_id": v.policy.policy_id,
                            "limit_usd": str(v.policy.limit_usd),
                            "remaining_usd": str(v.standing.remaining_usd if v.standing else 0),
                        }
                        for v in blocking
                    ],
                )
            reservation = Reservation(
                reservation_id,
                tenant,
                amount,
                now,
                hold_expiry(now + timedelta(seconds=request.ttl_seconds)),
                [key for _, key, _ in keyed],
                request_hash,
            )
            holds = [(p, key, states.get(key) or CounterState()) for p, key, _ in keyed]
            try:
                self.store.place(reservation, holds, now, config.version)
                return reservation
            except HoldConflict:
                # full jitter, exponential: racing reservers spread out instead of colliding again
                self.sleep(random.uniform(0, min(0.02, 0.001 * 2**attempt)))  # noqa: S311
            except StaleConfiguration:
                # the policies changed since they were read: hold by the ones in force
                self.configs.invalidate(tenant)
                config = self.configs.load(tenant)
                amount = self._amount(request, config)
                hard = [p for p in self._policies(config, request) if p.enforcement is Enforcement.HARD]
            except FileExistsError:
                replay = self.store.get(tenant, reservation_id)
                if replay is not None:
                    return self._replay(replay, request_hash)
        raise StoreUnavailable("the budget is under heavy contention; retry shortly")

    def release(self, principal: Principal, reservation_id: str) -> None:
        principal.require(Action.SPEND)
        reservation = (
            self.store.get(principal.tenant_id, reservation_id) if _valid_id(reservation_id) else None
        )
        if reservation is None:
            raise NotFound(f"reservation '{reservation_id}' does not exist")
        self.store.release(reservation, self.clock.now())

    # -- shared -------------------------------------------------------------------------------

    def _seeded(
        self, keyed: list[tuple[Policy, PolicyCounterKey, Any]], states: dict[PolicyCounterKey, CounterState]
    ) -> bool:
        return self.seeder is not None and self.seeder.seed_where_needed(keyed, states)

    def _amount(self, request: CheckRequest, config: TenantBudgetConfig) -> Decimal:
        if request.estimated_cost_usd is not None:
            return request.estimated_cost_usd
        now = self.clock.now()
        # judged at this clock's "now", as every event is at its arrival (not the wall clock's)
        event = UsageEvent.model_validate(
            {
                "event_id": "estimate",
                "tenant_id": "estimate",
                "timestamp": now,
                "kind": request.kind or UsageKind.LLM,
                "provider": request.provider,
                "model": request.model,
                "operation": request.operation,
                "usage": request.usage or TokenAndImageUsage(),
                "service_tier": request.service_tier,
            },
            context={"now": now},
        )
        quote = self.pricer.quote(event, config.overrides)
        if quote.cost_usd is None:
            raise ValidationFailed(
                f"no price is known for {request.provider}/{request.model}: send estimated_cost_usd",
                details=[{"field": "model", "message": "unpriced model"}],
            )
        return quote.cost_usd

    @staticmethod
    def _policies(config: TenantBudgetConfig, request: CheckRequest) -> list[Policy]:
        active = [p for p in config.policies if p.status is PolicyStatus.ACTIVE]
        return matching_policies(active, request.attributes(), request.provider, request.model, request.kind)

    @staticmethod
    def _reservation_id(tenant: str, idempotency_key: str | None) -> str:
        if idempotency_key is None:
            return new_id("res")
        digest = hashlib.sha256(f"{tenant}\x00{idempotency_key}".encode()).hexdigest()[:28]
        return f"res_{digest}"

    @staticmethod
    def _replay(existing: Reservation, request_hash: str) -> Reservation:
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different reservation request",
                details=[{"field": "Idempotency-Key"}],
            )
        return Reservation(**{**existing.__dict__, "replayed": True})


def _valid_id(reservation_id: str) -> bool:
    return RESERVATION_ID.match(reservation_id) is not None
