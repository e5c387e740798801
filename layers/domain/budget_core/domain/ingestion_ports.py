"""Ports of the ingestion path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from budget_core.domain.accounting import Commit
from budget_core.domain.policy import Policy
from budget_core.domain.pricing.overrides import PriceOverride


class TransientStoreError(Exception):
    """The store is busy (throttled, conflicting transaction): the same work may succeed later."""


@dataclass(frozen=True)
class TenantBudgetConfig:
    policies: Sequence[Policy] = ()
    overrides: dict[tuple[str, str], PriceOverride] = field(default_factory=dict)


class TenantConfigSource(Protocol):
    def load(self, tenant_id: str) -> TenantBudgetConfig:
        """Every policy (any status) and price override of the tenant, in one read."""


class UsageLedger(Protocol):
    def try_commit(self, commit: Commit) -> set[tuple[str, str]]:
        """Apply ``commit`` in one transaction.

        Returns the (tenant_id, event_id) of events found already applied, in which case nothing
        was written and the caller retries without them; an empty set means all of it committed.
        Raises TransientStoreError when the store is busy.
        """


@dataclass(frozen=True)
class Rejection:
    record_id: str
    reason: str
    data: bytes


class DeadLetters(Protocol):
    def send(self, rejections: Sequence[Rejection]) -> list[Rejection]:
        """Returns the rejections that could not be sent (they must not be acknowledged)."""
