"""The interfaces the domain depends on; adapters implement them, unit tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from budget_core.domain.policies.enums import PolicyStatus, ScopeType

if TYPE_CHECKING:
    from budget_core.domain.policies.lifecycle import PolicyLifecycleEvent
    from budget_core.domain.policies.policy import Policy

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class PolicyQuery:
    limit: int
    next_token: str | None = None
    scope_type: ScopeType | None = None
    scope_id: str | None = None
    status: PolicyStatus | None = None


class PolicyRepository(Protocol):
    def create(self, policy: Policy, config_version: int | None = None) -> None:
        """Store a new policy; PolicyConflict if its (scope, period, filters) slot is taken.
        With ``config_version``: ConcurrentModification unless the tenant's configuration is still
        at that version (the policy set the write was judged against)."""

    def get(self, tenant_id: str, policy_id: str) -> Policy | None: ...

    def query(self, tenant_id: str, query: PolicyQuery) -> Page[Policy]:
        """InvalidRequest if ``query.next_token`` was not made by this repository for this tenant."""

    def replace(self, current: Policy, updated: Policy, config_version: int | None = None) -> None:
        """Swap ``current`` for ``updated`` if nobody changed it since it was read.

        ConcurrentModification when the stored version is no longer ``current.version``, NotFound
        when it is gone, PolicyConflict when the new slot is taken by another policy.
        """

    def delete(self, current: Policy) -> None:
        """Delete ``current``; ConcurrentModification or NotFound as for ``replace``."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[PolicyLifecycleEvent]) -> None: ...
