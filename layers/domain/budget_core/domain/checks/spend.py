"""Spend of a policy in its current period: what is spent, what is held, what is left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.periods import PeriodWindow, period_window
from budget_core.domain.usage.accounting import PolicyCounterKey


@dataclass(frozen=True)
class Hold:
    amount_usd: Decimal
    expires_at: datetime


@dataclass(frozen=True)
class CounterState:
    """A policy counter as read: ``rev`` changes with every write, so a hold can be placed on
    exactly the state that was evaluated."""

    spent_usd: Decimal = Decimal(0)
    holds: dict[str, Hold] = field(default_factory=dict)  # one per reservation (the former layout)
    # expiry (epoch seconds, a whole minute) -> the sum of the holds that expire then
    reserved: dict[int, Decimal] = field(default_factory=dict)
    rev: int | None = None  # None: the counter does not exist yet
    policy_version: int | None = None
    seeded: bool = False  # the spend recorded before the policy's basis took effect was added

    def reserved_at(self, now: datetime) -> Decimal:
        """Only unexpired holds count: an expired hold stops counting at once, no sweeper needed."""
        moment = now.timestamp()
        live = sum((h.amount_usd for h in self.holds.values() if h.expires_at > now), Decimal(0))
        return live + sum((amount for at, amount in self.reserved.items() if at > moment), Decimal(0))

    def expired_holds(self, now: datetime) -> list[str]:
        return [rid for rid, h in self.holds.items() if h.expires_at <= now]

    def expired_buckets(self, now: datetime) -> list[int]:
        moment = now.timestamp()
        return [at for at in self.reserved if at <= moment]


HOLD_BUCKET_SECONDS = 60


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOLD_BUCKET = timedelta(seconds=HOLD_BUCKET_SECONDS)


def hold_expiry(moment: datetime) -> datetime:
    """A hold expires at a whole minute (``moment`` rounded up): holds are summed per minute.

    Rounded in whole microseconds, never through the float timestamp: truncating the fraction of a
    second would end a hold placed at 12:00:00.4 with one minute to live at 12:01:00, before its
    time."""
    buckets = -(-(moment - _EPOCH) // _HOLD_BUCKET)
    return (_EPOCH + buckets * _HOLD_BUCKET).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class Standing:
    policy: Policy
    window: PeriodWindow
    spent_usd: Decimal
    reserved_usd: Decimal

    @property
    def key(self) -> PolicyCounterKey:
        return PolicyCounterKey(
            self.policy.tenant_id, self.policy.policy_id, self.window.key, self.policy.basis_version
        )

    @property
    def remaining_usd(self) -> Decimal:
        return max(self.policy.limit_usd - self.spent_usd - self.reserved_usd, Decimal(0))

    def would_exceed(self, amount: Decimal) -> bool:
        return self.spent_usd + self.reserved_usd + amount > self.policy.limit_usd


def counter_key(policy: Policy, now: datetime) -> tuple[PolicyCounterKey, PeriodWindow]:
    window = period_window(policy.period, policy.timezone, now)
    return PolicyCounterKey(policy.tenant_id, policy.policy_id, window.key, policy.basis_version), window


def forecast(
    spent: Decimal, window: PeriodWindow, now: datetime, min_elapsed_fraction: Decimal
) -> Decimal | None:
    """Period-end spend at the period's run rate so far; None before enough of it has elapsed (the
    first cent of a month says nothing about its end) and for periods without an end."""
    if window.key == "total":
        return None
    length = int((window.end - window.start).total_seconds())
    elapsed = int((now - window.start).total_seconds())
    if length <= 0 or elapsed <= 0:
        return None
    fraction = Decimal(elapsed) / Decimal(length)
    if fraction < min_elapsed_fraction:
        return None
    if fraction >= 1:
        return spent
    return (spent / fraction).quantize(Decimal("0.000001"))
