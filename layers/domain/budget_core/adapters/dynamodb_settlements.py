"""ReservationLookup on the BudgetTable: the active reservations a batch's usage events settle,
read in one BatchGetItem (per 100) and only when the batch names reservations."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.dynamodb_codec import from_item, to_item
from budget_core.adapters.dynamodb_errors import is_busy
from budget_core.adapters.hold_items import settlement_from_record
from budget_core.adapters.keys import reservation_key
from budget_core.domain.accounting import Settlement
from budget_core.domain.ingestion_ports import TransientStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX = 100


class DynamoDBReservationLookup:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def active(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Settlement]:
        found: dict[tuple[str, str], Settlement] = {}
        pending: list[Any] = [to_item(reservation_key(tenant, rid)) for tenant, rid in sorted(keys)]
        for attempt in range(6):
            if not pending:
                return found
            chunk, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
            try:
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": chunk, "ConsistentRead": True}}
                )
            except ClientError as error:
                if is_busy(error):
                    raise TransientStoreError("reservations unreadable") from error
                raise
            for raw in response.get("Responses", {}).get(self._table, []):
                settlement = settlement_from_record(from_item(raw))
                if settlement is not None:
                    found[(settlement.tenant_id, settlement.reservation_id)] = settlement
            left: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            unprocessed = list((left.get(self._table) or {}).get("Keys", []))
            if unprocessed:
                pending = unprocessed + pending
                time.sleep(0.01 * 2**attempt)
        raise TransientStoreError("reservations left unprocessed")
