"""The BudgetTable key design: every item's keys are made here and nowhere else.

Every partition key starts with the tenant (invariant 4). See docs/data_model.md for the access
pattern each key serves.
"""

from __future__ import annotations

POLICY_PREFIX = "POLICY#"
SLOT_PREFIX = "SLOT#"


def tenant_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}"


def policy_key(tenant_id: str, policy_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{POLICY_PREFIX}{policy_id}"}


def policy_slot_key(tenant_id: str, uniqueness_key: str) -> dict[str, str]:
    """The guard item that holds a (scope, period, filters) slot for exactly one policy."""
    return {"pk": tenant_pk(tenant_id), "sk": f"{SLOT_PREFIX}{uniqueness_key}"}
