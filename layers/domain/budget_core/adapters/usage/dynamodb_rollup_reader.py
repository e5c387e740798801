"""Rollup rows for summaries and trends: one key-range query on one partition, never a scan."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import rollup_key
from budget_core.adapters.usage.rollup_labels import PREFIX, SEPARATOR, label_of
from budget_core.domain.shared.money import round_money
from budget_core.domain.usage.accounting import Granularity
from budget_core.domain.usage.queries import ROLLUP_COUNTS, RollupRow, Spend

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

# Rows written before labels broke spend down by one part at a time.
_LEGACY_PARTS = {"p": "provider", "m": "model", "o": "operation", "k": "kind"}
_FIELDS = {"c": "cost_usd", "n": "events", "u": "unpriced_events"}


class DynamoDBRollupReader:
    def __init__(self, client: DynamoDBClient, table_name: str, consistent: bool = False) -> None:
        self._client = guarded(client)
        self._table = table_name
        self._consistent = consistent  # seeding a counter needs what is committed, summaries do not

    def rows(
        self, tenant_id: str, dimension: str, value: str, granularity: Granularity, first: str, last: str
    ) -> list[RollupRow]:
        prefix = "D" if granularity is Granularity.DAY else "H"
        key = rollup_key(tenant_id, dimension, value, prefix, first)
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": to_item(
                {":pk": key["pk"], ":first": f"{prefix}#{first}", ":last": f"{prefix}#{last}"}
            ),
            "ConsistentRead": self._consistent,
        }
        rows: list[RollupRow] = []
        while True:
            response = self._client.query(**request)
            rows.extend(_row(from_item(item)) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                return rows
            request["ExclusiveStartKey"] = last_key


def _row(item: dict[str, Any]) -> RollupRow:
    row = RollupRow(bucket=str(item["bucket"]), cost_usd=round_money(Decimal(item.get("cost_usd", 0))))
    for name in ROLLUP_COUNTS:
        setattr(row, name, int(item.get(name, 0)))
    for attribute, number in item.items():
        stem, _, field = attribute.rpartition("#")
        if field not in _FIELDS or not stem:
            continue
        if attribute.startswith(PREFIX):
            if SEPARATOR not in stem:
                continue
            spend = row.labels.setdefault(label_of(stem), Spend())
        else:
            code, _, name = stem.partition("#")
            if code not in _LEGACY_PARTS or not name:
                continue
            spend = row.legacy.setdefault((_LEGACY_PARTS[code], name), Spend())
        if field == "c":
            spend.cost_usd = round_money(Decimal(number))
        else:
            setattr(spend, _FIELDS[field], int(number))
    return row
