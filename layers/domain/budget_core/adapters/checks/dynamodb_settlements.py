"""ReservationLookup on the BudgetTable: the active reservations a batch's usage events settle,
read in one BatchGetItem (per 100) and only when the batch names reservations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from budget_core.adapters.checks.hold_items import settlement_from_record
from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_batch_get import consistent_batch_get
from budget_core.adapters.shared.dynamodb_codec import to_item
from budget_core.adapters.shared.keys import reservation_key
from budget_core.domain.usage.accounting import Settlement

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBReservationLookup:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def active(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Settlement]:
        wanted = [to_item(reservation_key(tenant, rid)) for tenant, rid in sorted(keys)]
        found: dict[tuple[str, str], Settlement] = {}
        for item in consistent_batch_get(self._client, self._table, wanted, "reservations"):
            settlement = settlement_from_record(item)
            if settlement is not None:
                found[(settlement.tenant_id, settlement.reservation_id)] = settlement
        return found
