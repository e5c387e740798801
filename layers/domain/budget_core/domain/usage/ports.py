"""Ports of the ingestion path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.periods import PeriodWindow
from budget_core.domain.usage.accounting import Commit, PolicyCounterKey, Settlement


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
