"""Usage event v1 construction (the Budget Service's contract, "Usage event v1")."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def new_event_id() -> str:
    """Time-ordered and unique: 48 bits of milliseconds, 80 random bits."""
    return f"evt_{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def money(value: Decimal | str | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("cost_usd must be a Decimal or a decimal string: a float loses cents")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise ValueError("cost_usd must be a finite amount >= 0")
    return format(amount, "f")


def build_event(
    *,
    kind: str,
    tenant_id: str | None,
    event_id: str | None,
    timestamp: datetime | None,
    provider: str | None = None,
    model: str | None = None,
    operation: str | None = None,
    user_id: str | None = None,
    team_id: str | None = None,
    api_key_id: str | None = None,
    project_id: str | None = None,
    usage: dict[str, Any] | None = None,
    cost_usd: Decimal | str | int | None = None,
    reservation_id: str | None = None,
    metadata: dict[str, str] | None = None,
    service_tier: str | None = None,
    provider_usage: dict[str, Any] | None = None,
    api_flavor: str | None = None,
) -> dict[str, Any]:
    moment = timestamp or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    event: dict[str, Any] = {
        "event_id": event_id or new_event_id(),
        "tenant_id": tenant_id,
        "timestamp": moment.isoformat(),
        "kind": kind,
        "provider": provider,
        "model": model,
        "operation": operation,
        "user_id": user_id,
        "team_id": team_id,
        "api_key_id": api_key_id,
        "project_id": project_id,
        "usage": {k: v for k, v in (usage or {}).items() if v is not None} or None,
        "cost_usd": money(cost_usd),
        "reservation_id": reservation_id,
        "metadata": metadata or None,
        "service_tier": service_tier,
        # the provider's own usage object, read by the service with that provider's conventions
        "provider_usage": provider_usage,
        "api_flavor": api_flavor,
    }
    return {k: v for k, v in event.items() if v is not None}
