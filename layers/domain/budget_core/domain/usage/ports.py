"""Ports of the ingestion path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.periods import PeriodWindow
from budget_core.domain.usage.accounting import Commit, PolicyCounterKey, Settlement
from budget_core.domain.usage.pricing.overrides import PriceOverride


class StaleConfiguration(Exception):
    """A tenant's policies or prices changed since they were read: read them again, plan again."""

    def __init__(self, tenant_ids: set[str]) -> None:
        super().__init__(f"configuration changed for {sorted(tenant_ids)}")
        self.tenant_ids = tenant_ids


class UncommittableCommit(Exception):
    """The store refused the commit for what it is (too large an item or expression, a malformed
    value), not because it was busy: the same commit would be refused on every retry."""


class InactiveReservations(Exception):
    """Reservations a commit meant to settle were released or settled meanwhile (nothing written):
    count their events without settling them."""

    def __init__(self, keys: set[tuple[str, str]]) -> None:
        super().__init__(f"{len(keys)} reservations are no longer active")
        self.keys = keys


class ReservationLookup(Protocol):
    def active(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Settlement]:
        """The active reservations among (tenant, reservation id), in one round trip."""


@dataclass(frozen=True)
class TenantBudgetConfig:
    policies: Sequence[Policy] = ()
    overrides: dict[tuple[str, str], PriceOverride] = field(default_factory=dict)
    # Moved by every policy or price write; commits and reservations are conditioned on it.
    version: int = 0


class TenantConfigSource(Protocol):
    def load(self, tenant_id: str) -> TenantBudgetConfig:
        """Every policy (any status) and price override of the tenant, in one read."""

    def invalidate(self, tenant_id: str) -> None:
        """Forget what was read of the tenant: the next load reads the store."""


class UsageLedger(Protocol):
    def try_commit(self, commit: Commit) -> set[tuple[str, str]]:
        """Apply ``commit`` in one transaction.

        Returns the (tenant_id, event_id) of events found already applied, in which case nothing
        was written and the caller retries without them; an empty set means all of it committed.
        Raises StaleConfiguration when a tenant's configuration version is no longer the one the
        commit was planned with (nothing written), StoreUnavailable when the store is busy.
        """


@dataclass(frozen=True)
class Rejection:
    record_id: str
    reason: str
    data: bytes


class DeadLetters(Protocol):
    def send(self, rejections: Sequence[Rejection]) -> list[Rejection]:
        """Returns the rejections that could not be sent (they must not be acknowledged)."""


class EarlierPeriodSeeder(Protocol):
    def seed(self, policy: Policy, key: PolicyCounterKey, window: PeriodWindow) -> bool:
        """Seed a counter that a late event opened in a period begun before its policy counted
        (invariant 9); False when it needed none. StoreUnavailable when the store was busy."""
