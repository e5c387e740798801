"""A tenant's budget configuration: what every check and commit is judged by, read in one go and
moved by every policy or price write (its version), so that nothing is counted under a stale one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from budget_core.domain.policies.policy import Policy
from budget_core.domain.usage.pricing.overrides import PriceOverride


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


class StaleConfiguration(Exception):
    """A tenant's policies or prices changed since they were read: read them again, plan again."""

    def __init__(self, tenant_ids: set[str]) -> None:
        super().__init__(f"configuration changed for {sorted(tenant_ids)}")
        self.tenant_ids = tenant_ids
