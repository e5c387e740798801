"""Domain events that tell other services what happened to a tenant's policies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from budget_core.domain.policies.policy import Policy


class PolicyEventType(StrEnum):
    CREATED = "PolicyCreated"
    UPDATED = "PolicyUpdated"
    DELETED = "PolicyDeleted"


class PolicyLifecycleEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_type: PolicyEventType
    event_id: str
    tenant_id: str
    occurred_at: datetime
    actor: str | None
    policy: Policy
    changed_fields: list[str] = []

    def detail(self) -> dict[str, Any]:
        """The EventBridge detail: JSON-safe, money as decimal strings."""
        return self.model_dump(mode="json", exclude={"event_type"})
