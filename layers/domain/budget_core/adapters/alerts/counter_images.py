"""Spend counters as the table stream shows them: the alert function's view of a counter item,
light on imports because it is on that function's cold start."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget_core.adapters.shared.dynamodb_codec import from_item
from budget_core.adapters.shared.keys import COUNTER_ENTITY
from budget_core.domain.alerts.rules import CounterSnapshot
from budget_core.domain.policies.enums import PolicyStatus
from budget_core.domain.shared.money import round_money


class UnreadableCounter(ValueError):
    """A spend counter's new image that cannot be read: a dead letter, never a retried record."""


def counter_change(
    event_name: str, new_image: Mapping[str, Any] | None, old_image: Mapping[str, Any] | None
) -> tuple[CounterSnapshot | None, CounterSnapshot] | None:
    """(before, after) of a spend counter write as the table stream shows it; None for any other
    change of the table. UnreadableCounter when the new image is a counter that cannot be read."""
    if event_name not in ("INSERT", "MODIFY") or not new_image:
        return None
    try:
        after = counter_from_image(new_image)
    except (KeyError, ValueError, TypeError, ArithmeticError) as error:
        raise UnreadableCounter(f"{type(error).__name__}: {error}") from error
    return None if after is None else (_before(old_image), after)


def _before(old_image: Mapping[str, Any] | None) -> CounterSnapshot | None:
    """The counter before the write. An unreadable old image counts as none: every threshold up to
    the new spend is then claimed again, and the claims that exist drop the repeats."""
    if not old_image:
        return None
    try:
        return counter_from_image(old_image)
    except (KeyError, ValueError, TypeError, ArithmeticError):
        return None


def counter_from_image(image: Mapping[str, Any]) -> CounterSnapshot | None:
    """The counter of a table-stream image (attribute values), None when the item is not a counter;
    KeyError, ValueError, TypeError or ArithmeticError naming what is wrong with a counter's."""
    attributes = from_item(image)
    if attributes.get("entity") != COUNTER_ENTITY:
        return None
    return snapshot_from_attributes(attributes)


def snapshot_attributes(counter: CounterSnapshot) -> dict[str, Any]:
    """A snapshot as item attributes, named as on the counter item (alert claims keep one too)."""
    return {
        "tenant_id": counter.tenant_id,
        "policy_id": counter.policy_id,
        "policy_name": counter.policy_name,
        "policy_status": (PolicyStatus.ACTIVE if counter.policy_active else PolicyStatus.PAUSED).value,
        "scope_type": counter.scope_type,
        "scope_id": counter.scope_id,
        "period": counter.period,
        "period_key": counter.period_key,
        "period_start": counter.period_start.isoformat(),
        "period_end": counter.period_end.isoformat(),
        "limit_usd": counter.limit_usd,
        "thresholds": list(counter.thresholds),
        "forecast_alerts": counter.forecast_alerts,
        "spent_usd": counter.spent_usd,
        "updated_at": counter.updated_at.isoformat(),
        "basis_version": counter.basis_version,
    }


def snapshot_from_attributes(image: dict[str, Any]) -> CounterSnapshot:
    """The inverse of ``snapshot_attributes``; ValueError naming the attribute that is wrong."""
    limit = _decimal(image, "limit_usd")
    if limit <= 0:
        raise ValueError("limit_usd is not positive")
    scope_id = image.get("scope_id")
    try:
        thresholds = tuple(int(t) for t in image.get("thresholds", []))
    except (TypeError, ValueError):
        raise ValueError("thresholds are not whole numbers") from None
    return CounterSnapshot(
        tenant_id=_text(image, "tenant_id"),
        policy_id=_text(image, "policy_id"),
        policy_name=_text(image, "policy_name"),
        policy_active=image.get("policy_status") == PolicyStatus.ACTIVE.value,
        scope_type=_text(image, "scope_type"),
        scope_id=str(scope_id) if scope_id is not None else None,
        period=_text(image, "period"),
        period_key=_text(image, "period_key"),
        period_start=_moment(image, "period_start"),
        period_end=_moment(image, "period_end"),
        limit_usd=limit,
        thresholds=thresholds,
        forecast_alerts=bool(image.get("forecast_alerts", False)),
        spent_usd=_decimal(image, "spent_usd", default=Decimal(0)),
        updated_at=_moment(image, "updated_at"),
        basis_version=_whole(image, "basis_version", default=1),
    )


def _whole(image: dict[str, Any], name: str, default: int) -> int:
    value = image.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is not a whole number") from None
    if number < 1:
        raise ValueError(f"{name} is not positive")
    return number


def _text(image: dict[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing")
    return value


def _decimal(image: dict[str, Any], name: str, default: Decimal | None = None) -> Decimal:
    value: Any = image.get(name, default)
    try:
        number = Decimal(value)
    except (TypeError, ValueError, ArithmeticError):
        raise ValueError(f"{name} is missing or not a number") from None
    if not number.is_finite():
        raise ValueError(f"{name} is not a finite number")
    return round_money(number)


def _moment(image: dict[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(image, name))
    except ValueError:
        raise ValueError(f"{name} is missing or not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} has no time zone")
    return moment
