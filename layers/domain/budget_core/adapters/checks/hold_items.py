"""Reservation holds on counters: summed per expiry minute (``rsv#{epoch}``), so the number of live
holds never grows a counter item (invariant 10), and taken off again by a release or a settlement.

Light on imports: the ingest function settles reservations and must not load the check domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import reservation_key
from budget_core.domain.usage.accounting import PolicyCounterKey, Settlement

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

ACTIVE = "active"
HELD_AS_SUM = "sum"  # the record's holds are in the counters' per-minute sums


def close_record(
    table: str, tenant_id: str, reservation_id: str, status: str, now: datetime, by: str | None = None
) -> TransactWriteItemTypeDef:
    """The reservation record goes from active to ``status`` (released, settled) with the time and
    what closed it, or the transaction does not commit: a reservation is closed once."""
    return (
        ItemUpdate(table, reservation_key(tenant_id, reservation_id))
        .set("status", status)
        .set(f"{status}_at", now.isoformat())
        .set(f"{status}_by", by)
        .require_equal("status", ACTIVE)
        .action()
    )


def settle_record(
    table: str, settlement: Settlement, event_id: str | None, now: datetime
) -> TransactWriteItemTypeDef:
    """Settled by the usage event ``event_id``: a second settle answers with that event's result."""
    return close_record(table, settlement.tenant_id, settlement.reservation_id, "settled", now, by=event_id)


def counter_to_stored(key: PolicyCounterKey) -> str:
    """How a reservation record names a counter it holds on: ``policy_id|period_key|basis``."""
    return f"{key.policy_id}|{key.period_key}|{key.basis}"


def counter_from_stored(tenant_id: str, stored: str) -> PolicyCounterKey:
    """The inverse of ``counter_to_stored``; records written before bases existed have none (1)."""
    policy_id, period, *basis = stored.split("|")
    return PolicyCounterKey(tenant_id, policy_id, period, int(basis[0]) if basis else 1)


def settlement_from_record(item: dict[str, Any]) -> Settlement | None:
    """The settlement of a reservation record (None unless it is active)."""
    if item.get("status") != ACTIVE:
        return None
    tenant = str(item["tenant_id"])
    counters = [counter_from_stored(tenant, str(stored)) for stored in item.get("counters", [])]
    return Settlement(
        tenant_id=tenant,
        reservation_id=str(item["reservation_id"]),
        amount_usd=item["amount_usd"],
        expires_at_epoch=int(datetime.fromisoformat(item["hold_expires_at"]).timestamp()),
        counters=tuple(counters),
        summed=item.get("held_as") == HELD_AS_SUM,
    )
