"""The usage records counted exactly once: what an earlier settle of a reservation answered."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import usage_event_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBUsageRecords:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def cost_of(self, tenant_id: str, event_id: str) -> tuple[bool, Decimal | None]:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(usage_event_key(tenant_id, event_id)),
            ProjectionExpression="cost_usd, event_id",
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return False, None
        cost = from_item(item).get("cost_usd")
        return True, Decimal(cost) if cost is not None else None
