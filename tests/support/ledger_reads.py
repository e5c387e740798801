"""Reads of what ingestion wrote, through the same key builders the service uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import policy_counter_key, rollup_key, usage_event_key
from tests.support.aws import TABLE_NAME, AwsResources


def _get(aws: AwsResources, key: dict[str, str]) -> dict[str, Any] | None:
    item = aws.dynamodb.get_item(TableName=TABLE_NAME, Key=to_item(key), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def policy_counter(aws: AwsResources, tenant: str, policy_id: str, period_key: str) -> dict[str, Any] | None:
    return _get(aws, policy_counter_key(tenant, policy_id, period_key))


def spent(aws: AwsResources, tenant: str, policy_id: str, period_key: str) -> Decimal:
    counter = policy_counter(aws, tenant, policy_id, period_key)
    return Decimal(counter["spent_usd"]) if counter else Decimal(0)


def daily_rollup(
    aws: AwsResources, tenant: str, day: str, dimension: str = "all", value: str = "*"
) -> dict[str, Any]:
    return _get(aws, rollup_key(tenant, dimension, value, "D", day)) or {}


def quarter_rollup(
    aws: AwsResources, tenant: str, quarter: str, dimension: str = "all", value: str = "*"
) -> dict[str, Any]:
    return _get(aws, rollup_key(tenant, dimension, value, "H", quarter)) or {}


def usage_record(aws: AwsResources, tenant: str, event_id: str) -> dict[str, Any] | None:
    return _get(aws, usage_event_key(tenant, event_id))
