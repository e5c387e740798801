from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from budget_core.domain.policies.policy import NewPolicy, Policy, PolicyPatch

VALID: dict[str, Any] = {
    "name": "Research monthly",
    "scope": {"type": "team", "id": "research"},
    "period": "month",
    "limit_usd": "2500.00",
}


def _new(**changes: Any) -> NewPolicy:
    return NewPolicy.model_validate({**VALID, **changes})


def _fields_in_error(error: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.errors()}


def test_defaults_make_a_hard_active_utc_policy_with_standard_thresholds() -> None:
    policy = _new()
    assert policy.limit_usd == Decimal("2500.00")
    assert (policy.enforcement, policy.status, policy.timezone) == ("hard", "active", "UTC")
    assert policy.alert_thresholds == [50, 80, 100]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scope": {"type": "teams", "id": "x"}}, "scope.type"),
        ({"scope": {"type": "team"}}, "scope"),
        ({"scope": {"type": "tenant", "id": "x"}}, "scope"),
        ({"scope": {"type": "user", "id": "has spaces"}}, "scope.id"),
        ({"period": "fortnight"}, "period"),
        ({"limit_usd": "-5"}, "limit_usd"),
        ({"limit_usd": "0"}, "limit_usd"),
        ({"limit_usd": "ten dollars"}, "limit_usd"),
        ({"limit_usd": 10.5}, "limit_usd"),
        ({"limit_usd": "1e13"}, "limit_usd"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"alert_thresholds": [0]}, "alert_thresholds.0"),
        ({"alert_thresholds": [1001]}, "alert_thresholds.0"),
        ({"alert_thresholds": [50, 50]}, "alert_thresholds"),
        ({"alert_thresholds": list(range(1, 12))}, "alert_thresholds"),
        ({"alert_thresholds": ["50"]}, "alert_thresholds.0"),
        ({"enforcement": "strict"}, "enforcement"),
        ({"filters": {"kind": "video"}}, "filters.kind"),
        ({"filters": {"region": "eu"}}, "filters.region"),
        ({"owner": "me"}, "owner"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_fields_are_refused_by_name(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _new(**changes)
    assert field in _fields_in_error(caught.value)


def test_thresholds_are_kept_in_ascending_order() -> None:
    assert _new(alert_thresholds=[100, 50, 80, 120]).alert_thresholds == [50, 80, 100, 120]


def test_the_uniqueness_slot_ignores_everything_but_scope_period_and_filters() -> None:
    a = _new(name="a", limit_usd="1", enforcement="soft")
    b = _new(name="b", limit_usd="99", timezone="Asia/Tokyo")
    assert a.uniqueness_key() == b.uniqueness_key()
    assert a.uniqueness_key() != _new(period="day").uniqueness_key()
    assert a.uniqueness_key() != _new(filters={"provider": "openai"}).uniqueness_key()
    assert a.uniqueness_key() != _new(scope={"type": "team", "id": "other"}).uniqueness_key()


def _stored() -> Policy:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return Policy(
        **_new().model_dump(),
        policy_id="pol_" + "0" * 28,
        tenant_id="acme",
        version=3,
        created_at=now,
        updated_at=now,
    )


def test_a_patch_replaces_only_the_given_fields_and_bumps_the_version() -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    updated = _stored().apply(PolicyPatch.model_validate({"limit_usd": "10", "status": "paused"}), now)
    assert (updated.limit_usd, updated.status, updated.version, updated.updated_at) == (
        Decimal(10),
        "paused",
        4,
        now,
    )
    assert updated.name == "Research monthly"
    assert _stored().changed_fields(updated) == ["limit_usd", "status"]


@pytest.mark.parametrize("body", [{}, {"name": None}, {"limit_usd": "-1"}, {"version": 9}])
def test_a_patch_that_changes_nothing_or_breaks_a_rule_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PolicyPatch.model_validate(body)
