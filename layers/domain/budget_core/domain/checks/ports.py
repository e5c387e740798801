"""What checks and reservations need of the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from budget_core.domain.checks.models import Reservation
from budget_core.domain.checks.spend import CounterState
from budget_core.domain.policies.policy import Policy
from budget_core.domain.usage.accounting import PolicyCounterKey


class CounterReader(Protocol):
    def read(self, keys: Sequence[PolicyCounterKey]) -> dict[PolicyCounterKey, CounterState]:
        """Current state of each counter, in one round trip; absent counters read as empty."""

    def read_with_config(
        self, tenant_id: str, keys: Sequence[PolicyCounterKey]
    ) -> tuple[dict[PolicyCounterKey, CounterState], int]:
        """``read`` plus the tenant's configuration version, in the same round trip."""


class HoldConflict(Exception):
    """A counter changed between read and hold: evaluate again."""


class ReservationStore(Protocol):
    def get(self, tenant_id: str, reservation_id: str) -> Reservation | None: ...

    def place(
        self,
        reservation: Reservation,
        holds: Sequence[tuple[Policy, PolicyCounterKey, CounterState]],
        now: datetime,
        config_version: int,
    ) -> None:
        """Record ``reservation`` and its holds in one transaction, each hold conditioned on the
        counter still being at the state read and the tenant's configuration on ``config_version``.
        HoldConflict when a counter moved; StaleConfiguration when the policies changed;
        FileExistsError when the reservation id exists already."""

    def release(self, reservation: Reservation, now: datetime) -> None:
        """Remove its holds and mark it released; a second release changes nothing."""
