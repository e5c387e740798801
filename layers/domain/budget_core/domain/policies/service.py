"""Policy CRUD: the rules of the policy service, independent of HTTP and of DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from budget_core.domain.policies.lifecycle import PolicyEventType, PolicyLifecycleEvent
from budget_core.domain.policies.overlap import MAX_POLICIES_PER_EVENT, largest_overlap
from budget_core.domain.policies.policy import POLICY_ID, AlertSettings, NewPolicy, Policy, PolicyPatch
from budget_core.domain.policies.ports import EventPublisher, Page, PolicyQuery, PolicyRepository
from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import (
    ConcurrentModification,
    NotFound,
    PreconditionFailed,
    StoreUnavailable,
    TooManyOverlappingPolicies,
    ValidationFailed,
    validation_details,
)
from budget_core.domain.shared.ids import new_id
from budget_core.domain.tenants.config import TenantConfigSource

# A PATCH or DELETE without If-Match re-reads and retries when it loses a race, this many times.
UNCONDITIONAL_WRITE_ATTEMPTS = 3


class Seeder(Protocol):
    def seed_current(self, policy: Policy) -> bool:
        """Add the spend recorded before the policy to its current counter (once)."""


@dataclass
class PolicyService:
    repository: PolicyRepository
    publisher: EventPublisher
    clock: Clock
    make_id: Callable[[str], str] = new_id
    seeder: Seeder | None = None
    # The tenant's whole policy set and its version: a write is judged against it (overlaps) and
    # commits only if the set did not change meanwhile.
    configs: TenantConfigSource | None = None

    def create(self, principal: Principal, new: NewPolicy) -> Policy:
        principal.require(Action.WRITE_POLICY)
        now = self.clock.now()
        policy = Policy(
            **new.model_dump(),
            policy_id=self.make_id("pol"),
            tenant_id=principal.tenant_id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        for attempt in range(1, UNCONDITIONAL_WRITE_ATTEMPTS + 1):
            config_version = self._refuse_overlaps(policy)
            try:
                self.repository.create(policy, config_version)
                break
            except ConcurrentModification:
                # another policy write of the tenant came first: judge the overlaps again
                if attempt == UNCONDITIONAL_WRITE_ATTEMPTS:
                    raise
        self._seed(policy)
        self._publish(PolicyEventType.CREATED, principal, policy)
        return policy

    def get(self, principal: Principal, policy_id: str) -> Policy:
        principal.require(Action.READ)
        return self._load(principal, policy_id)

    def list_policies(self, principal: Principal, query: PolicyQuery) -> Page[Policy]:
        principal.require(Action.READ)
        return self.repository.query(principal.tenant_id, query)

    def update(
        self, principal: Principal, policy_id: str, patch: PolicyPatch, if_match: int | None
    ) -> Policy:
        principal.require(Action.WRITE_POLICY)
        for attempt in range(1, UNCONDITIONAL_WRITE_ATTEMPTS + 1):
            current = self._load(principal, policy_id)
            _check_precondition(current, if_match)
            try:
                updated = current.apply(patch, self.clock.now())
            except ValidationError as error:
                raise ValidationFailed(
                    "the patched policy would be invalid", details=validation_details(error.errors())
                ) from None
            config_version = self._refuse_overlaps(updated)
            try:
                self.repository.replace(current, updated, config_version)
            except ConcurrentModification:
                # the policy or another policy of the tenant changed: read again (If-Match is
                # checked against what is read, so a changed version still answers 412)
                if attempt == UNCONDITIONAL_WRITE_ATTEMPTS:
                    raise
                continue
            if updated.basis_version != current.basis_version or (
                updated.include_existing_spend and not current.include_existing_spend
            ):
                self._seed(updated)
            self._publish(PolicyEventType.UPDATED, principal, updated, current.changed_fields(updated))
            return updated
        raise AssertionError("unreachable")  # pragma: no cover

    def configure_alert(
        self, principal: Principal, policy_id: str, settings: AlertSettings, if_match: int | None
    ) -> Policy:
        """Set the thresholds and the forecast flag: an update like any other (version, event)."""
        return self.update(principal, policy_id, settings.as_patch(), if_match)

    def delete(self, principal: Principal, policy_id: str, if_match: int | None) -> None:
        principal.require(Action.WRITE_POLICY)
        for attempt in range(1, UNCONDITIONAL_WRITE_ATTEMPTS + 1):
            current = self._load(principal, policy_id)
            _check_precondition(current, if_match)
            try:
                self.repository.delete(current)
            except ConcurrentModification:
                if if_match is not None:
                    raise _stale(if_match) from None
                if attempt == UNCONDITIONAL_WRITE_ATTEMPTS:
                    raise
                continue
            self._publish(PolicyEventType.DELETED, principal, current)
            return

    def _refuse_overlaps(self, policy: Policy) -> int | None:
        """TooManyOverlappingPolicies when, with ``policy`` stored, one event could fall under more
        policies than one commit counts; else the configuration version the judgement was made on."""
        if self.configs is None:
            return None
        config = self.configs.load(policy.tenant_id)
        others = [p for p in config.policies if p.policy_id != policy.policy_id]
        overlap = largest_overlap(policy, others)
        if len(overlap) + 1 > MAX_POLICIES_PER_EVENT:
            ids = sorted(p.policy_id for p in overlap if isinstance(p, Policy))
            raise TooManyOverlappingPolicies(
                f"with this policy one usage event could fall under {len(overlap) + 1} policies; "
                f"at most {MAX_POLICIES_PER_EVENT} can count one event: narrow the scope or filters, "
                "or remove some of these",
                details=[{"field": "scope", "policy_ids": ids}],
            )
        return config.version

    def _seed(self, policy: Policy) -> None:
        """Seed now so the answer already shows the spend; if the store is busy, the first check or
        status read of the counter seeds it instead (it is marked unseeded until then)."""
        if self.seeder is None or not policy.include_existing_spend:
            return
        with suppress(StoreUnavailable):
            self.seeder.seed_current(policy)

    def _load(self, principal: Principal, policy_id: str) -> Policy:
        # An id this service could not have made is missing, exactly like another tenant's id.
        policy = self.repository.get(principal.tenant_id, policy_id) if POLICY_ID.match(policy_id) else None
        if policy is None:
            raise NotFound(f"policy '{policy_id}' does not exist")
        return policy

    def _publish(
        self, kind: PolicyEventType, principal: Principal, policy: Policy, changed: list[str] | None = None
    ) -> None:
        event = PolicyLifecycleEvent(
            event_type=kind,
            event_id=self.make_id("evt"),
            tenant_id=principal.tenant_id,
            occurred_at=self.clock.now(),
            actor=principal.subject,
            policy=policy,
            changed_fields=changed or [],
        )
        self.publisher.publish([event])


def _check_precondition(current: Policy, if_match: int | None) -> None:
    if if_match is not None and if_match != current.version:
        raise _stale(if_match, current.version)


def _stale(if_match: int, current_version: int | None = None) -> PreconditionFailed:
    now = f" (it is now {current_version})" if current_version is not None else ""
    return PreconditionFailed(f"the policy is no longer at version {if_match}{now}; read it again")
