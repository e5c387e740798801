"""Policy counter items: the snapshot of the policy they carry, and how they read back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from budget_core.adapters.shared.keys import COUNTER_ENTITY, HOLD_PREFIX, RESERVED_PREFIX, policy_counter_key
from budget_core.domain.checks.spend import CounterState, Hold
from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.money import round_money
from budget_core.domain.shared.periods import PeriodWindow
from budget_core.domain.usage.accounting import PolicyCounterKey


def counter_item_key(key: PolicyCounterKey) -> dict[str, str]:
    return policy_counter_key(key.tenant_id, key.policy_id, key.period_key, key.basis)


def counter_snapshot(
    policy: Policy, key: PolicyCounterKey, window: PeriodWindow, now: datetime
) -> dict[str, Any]:
    """What every write of a counter SETs: enough of the policy for the alert function to work
    from the stream record alone."""
    return {
        "entity": COUNTER_ENTITY,
        "tenant_id": key.tenant_id,
        "policy_id": key.policy_id,
        "policy_name": policy.name,
        "policy_version": policy.version,
        "basis_version": policy.basis_version,
        "policy_status": policy.status.value,
        "scope_type": policy.scope.type.value,
        "scope_id": policy.scope.id,
        "period": policy.period.value,
        "period_key": key.period_key,
        "timezone": policy.timezone,
        "limit_usd": policy.limit_usd,
        "enforcement": policy.enforcement.value,
        "thresholds": list(policy.alert_thresholds),
        "forecast_alerts": policy.forecast_alerts,
        "period_start": window.start.isoformat(),
        "period_end": window.end.isoformat(),
        "updated_at": now.isoformat(),
    }


def counter_state(item: dict[str, Any] | None) -> CounterState:
    if not item:
        return CounterState()
    holds = {
        name.removeprefix(HOLD_PREFIX): Hold(
            round_money(Decimal(value["amount_usd"])),
            datetime.fromtimestamp(int(value["expires_at"]), tz=UTC),
        )
        for name, value in item.items()
        if name.startswith(HOLD_PREFIX) and isinstance(value, dict)
    }
    reserved = {
        int(name.removeprefix(RESERVED_PREFIX)): round_money(Decimal(value))
        for name, value in item.items()
        if name.startswith(RESERVED_PREFIX) and isinstance(value, Decimal | int)
    }
    version = item.get("policy_version")
    return CounterState(
        # rounded on read too: amounts stored before costs were rounded still answer
        spent_usd=round_money(Decimal(item.get("spent_usd", 0))),
        holds=holds,
        reserved=reserved,
        rev=int(item["rev"]) if "rev" in item else None,
        policy_version=int(version) if version is not None else None,
        seeded="seeded_at" in item,
    )
