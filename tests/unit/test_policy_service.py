from __future__ import annotations

from typing import Any

import pytest

from budget_core.domain.policies.lifecycle import PolicyEventType
from budget_core.domain.policies.policy import NewPolicy, PolicyPatch
from budget_core.domain.policies.ports import PolicyQuery
from budget_core.domain.policies.service import PolicyService
from budget_core.domain.shared.auth import Principal, Role
from budget_core.domain.shared.errors import ConcurrentModification, Forbidden, NotFound, PreconditionFailed
from tests.support.fakes import InMemoryPolicyRepository, RecordingPublisher, SteppingClock

ADMIN = Principal("acme", frozenset({Role.ADMIN}), "alice")
VIEWER = Principal("acme", frozenset({Role.VIEWER}))
OTHER_ADMIN = Principal("globex", frozenset({Role.ADMIN}))
NEW = NewPolicy.model_validate(
    {"name": "n", "scope": {"type": "user", "id": "u1"}, "period": "day", "limit_usd": "5"}
)


@pytest.fixture
def parts() -> tuple[PolicyService, InMemoryPolicyRepository, RecordingPublisher]:
    repository, publisher = InMemoryPolicyRepository(), RecordingPublisher()
    return PolicyService(repository, publisher, SteppingClock()), repository, publisher


def test_create_stores_a_first_version_for_the_callers_tenant_and_announces_it(parts: Any) -> None:
    service, repository, publisher = parts
    policy = service.create(ADMIN, NEW)
    assert (policy.tenant_id, policy.version) == ("acme", 1)
    assert repository.get("acme", policy.policy_id) == policy
    [event] = publisher.published
    assert (event.event_type, event.tenant_id, event.actor, event.policy) == (
        PolicyEventType.CREATED,
        "acme",
        "alice",
        policy,
    )


def test_viewers_read_but_never_write(parts: Any) -> None:
    service, _, publisher = parts
    policy = service.create(ADMIN, NEW)
    assert service.get(VIEWER, policy.policy_id) == policy
    with pytest.raises(Forbidden):
        service.create(VIEWER, NEW)
    with pytest.raises(Forbidden):
        service.update(VIEWER, policy.policy_id, PolicyPatch(name="x"), None)
    with pytest.raises(Forbidden):
        service.delete(VIEWER, policy.policy_id, None)
    assert len(publisher.published) == 1


def test_another_tenants_policy_is_missing(parts: Any) -> None:
    service, _, _ = parts
    policy = service.create(ADMIN, NEW)
    for call in (
        lambda: service.get(OTHER_ADMIN, policy.policy_id),
        lambda: service.update(OTHER_ADMIN, policy.policy_id, PolicyPatch(name="x"), None),
        lambda: service.delete(OTHER_ADMIN, policy.policy_id, None),
    ):
        with pytest.raises(NotFound):
            call()
    assert service.list_policies(OTHER_ADMIN, PolicyQuery(limit=10)).items == []


def test_an_id_the_service_never_makes_is_missing_without_a_lookup(parts: Any) -> None:
    service, _, _ = parts
    with pytest.raises(NotFound):
        service.get(ADMIN, "../../T#globex")


def test_update_with_a_stale_version_is_a_failed_precondition(parts: Any) -> None:
    service, _, publisher = parts
    policy = service.create(ADMIN, NEW)
    service.update(ADMIN, policy.policy_id, PolicyPatch(name="v2"), if_match=1)
    with pytest.raises(PreconditionFailed):
        service.update(ADMIN, policy.policy_id, PolicyPatch(name="v3"), if_match=1)
    assert [e.event_type for e in publisher.published] == [PolicyEventType.CREATED, PolicyEventType.UPDATED]
    assert publisher.published[1].changed_fields == ["name"]


def test_update_without_if_match_retries_a_lost_race_on_fresh_data(parts: Any) -> None:
    service, repository, _ = parts
    policy = service.create(ADMIN, NEW)
    repository.lose_races = 2
    updated = service.update(ADMIN, policy.policy_id, PolicyPatch(limit_usd="9"), None)
    assert updated.version == 2


def test_update_gives_up_after_losing_every_race(parts: Any) -> None:
    service, repository, _ = parts
    policy = service.create(ADMIN, NEW)
    repository.lose_races = 99
    with pytest.raises(ConcurrentModification):
        service.update(ADMIN, policy.policy_id, PolicyPatch(limit_usd="9"), None)


def test_delete_announces_the_policy_as_it_was(parts: Any) -> None:
    service, repository, publisher = parts
    policy = service.create(ADMIN, NEW)
    service.delete(ADMIN, policy.policy_id, if_match=1)
    assert repository.get("acme", policy.policy_id) is None
    assert publisher.published[-1].event_type is PolicyEventType.DELETED
    assert publisher.published[-1].policy == policy
    with pytest.raises(NotFound):
        service.delete(ADMIN, policy.policy_id, None)
