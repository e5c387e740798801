"""Policies to and from their BudgetTable items."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from budget_core.adapters.shared.dynamodb_codec import to_item
from budget_core.adapters.shared.keys import policy_key
from budget_core.domain.policies.policy import Policy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

POLICY_ENTITY = "policy"


def policy_to_item(policy: Policy) -> dict[str, AttributeValueTypeDef]:
    values = policy.model_dump(mode="python", exclude_none=True)
    values["scope"] = policy.scope.model_dump(mode="json", exclude_none=True)
    values["filters"] = policy.filters.model_dump(mode="json", exclude_none=True)
    for field in ("period", "enforcement", "status"):
        values[field] = getattr(policy, field).value
    values["created_at"] = policy.created_at.isoformat()
    values["updated_at"] = policy.updated_at.isoformat()
    if policy.basis_since is not None:
        values["basis_since"] = policy.basis_since.isoformat()
    return to_item({**policy_key(policy.tenant_id, policy.policy_id), "entity": POLICY_ENTITY, **values})


def policy_from_item(values: dict[str, Any]) -> Policy:
    data = {k: v for k, v in values.items() if k not in ("pk", "sk", "entity")}
    data["version"] = int(data["version"])
    data["alert_thresholds"] = [int(t) for t in data.get("alert_thresholds", [])]
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["updated_at"] = datetime.fromisoformat(data["updated_at"])
    if "basis_version" in data:
        data["basis_version"] = int(data["basis_version"])
    if data.get("basis_since") is not None:
        data["basis_since"] = datetime.fromisoformat(data["basis_since"])
    return Policy.model_validate(data)
