"""Reservation holds on counters: summed per expiry minute (``rsv#{epoch}``), so the number of live
holds never grows a counter item (invariant 10), and taken off again by a release or a settlement.

Light on imports: the ingest function settles reservations and must not load the check domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from budget_core.adapters.dynamodb_codec import to_item
from budget_core.adapters.keys import reservation_key
from budget_core.domain.accounting import Settlement

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

ACTIVE = "active"
HELD_AS_SUM = "sum"  # the record's holds are in the counters' per-minute sums


def settle_record(table: str, settlement: Settlement, now: datetime) -> TransactWriteItemTypeDef:
    """The reservation record goes from active to settled, or the transaction does not commit."""
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(reservation_key(settlement.tenant_id, settlement.reservation_id)),
            "UpdateExpression": "SET #status = :settled, settled_at = :now",
            "ConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(
                {":settled": "settled", ":active": ACTIVE, ":now": now.isoformat()}
            ),
        }
    }


def settlement_from_record(item: dict[str, Any]) -> Settlement | None:
    """The settlement of a reservation record (None unless it is active)."""
    from budget_core.domain.accounting import PolicyCounterKey

    if item.get("status") != ACTIVE:
        return None
    tenant = str(item["tenant_id"])
    counters = []
    for stored in item.get("counters", []):
        policy_id, period, *basis = str(stored).split("|")
        counters.append(PolicyCounterKey(tenant, policy_id, period, int(basis[0]) if basis else 1))
    return Settlement(
        tenant_id=tenant,
        reservation_id=str(item["reservation_id"]),
        amount_usd=item["amount_usd"],
        expires_at_epoch=int(datetime.fromisoformat(item["hold_expires_at"]).timestamp()),
        counters=tuple(counters),
        summed=item.get("held_as") == HELD_AS_SUM,
    )
