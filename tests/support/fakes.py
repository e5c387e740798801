"""In-memory fakes of the domain's own ports, for unit tests only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from budget_core.domain.policies.lifecycle import PolicyLifecycleEvent
from budget_core.domain.policies.policy import Policy
from budget_core.domain.policies.ports import Page, PolicyQuery
from budget_core.domain.shared.errors import ConcurrentModification, NotFound, PolicyConflict


@dataclass
class InMemoryPolicyRepository:
    policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    slots: dict[tuple[str, str], str] = field(default_factory=dict)
    lose_races: int = 0  # the next N writes fail as if another writer got there first

    def create(self, policy: Policy, config_version: int | None = None) -> None:
        slot = (policy.tenant_id, policy.uniqueness_key())
        if slot in self.slots:
            raise PolicyConflict("taken", existing_policy_id=self.slots[slot])
        self.slots[slot] = policy.policy_id
        self.policies[(policy.tenant_id, policy.policy_id)] = policy

    def get(self, tenant_id: str, policy_id: str) -> Policy | None:
        return self.policies.get((tenant_id, policy_id))

    def query(self, tenant_id: str, query: PolicyQuery) -> Page[Policy]:
        items = sorted(
            (p for (t, _), p in self.policies.items() if t == tenant_id), key=lambda p: p.policy_id
        )
        return Page(items[: query.limit], None)

    def replace(self, current: Policy, updated: Policy, config_version: int | None = None) -> None:
        self._check(current)
        new_slot = (updated.tenant_id, updated.uniqueness_key())
        holder = self.slots.get(new_slot)
        if holder not in (None, current.policy_id):
            raise PolicyConflict("taken", existing_policy_id=holder)
        del self.slots[(current.tenant_id, current.uniqueness_key())]
        self.slots[new_slot] = updated.policy_id
        self.policies[(updated.tenant_id, updated.policy_id)] = updated

    def delete(self, current: Policy) -> None:
        self._check(current)
        del self.slots[(current.tenant_id, current.uniqueness_key())]
        del self.policies[(current.tenant_id, current.policy_id)]

    def _check(self, current: Policy) -> None:
        stored = self.get(current.tenant_id, current.policy_id)
        if stored is None:
            raise NotFound("gone")
        if self.lose_races:
            self.lose_races -= 1
            raise ConcurrentModification("lost a race")
        if stored.version != current.version:
            raise ConcurrentModification("stale")


@dataclass
class RecordingPublisher:
    published: list[PolicyLifecycleEvent] = field(default_factory=list)

    def publish(self, events: Sequence[PolicyLifecycleEvent]) -> None:
        self.published.extend(events)


@dataclass
class SteppingClock:
    current: datetime = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    step: timedelta = timedelta(seconds=1)

    def now(self) -> datetime:
        self.current += self.step
        return self.current


def stored_policy(tenant_id: str, policy_id: str, **fields: object) -> Policy:
    """An active $100 monthly tenant policy as the repository would hold it."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    body = {"name": "p", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "100", **fields}
    return Policy.model_validate(
        {
            **body,
            "policy_id": policy_id,
            "tenant_id": tenant_id,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
    )
