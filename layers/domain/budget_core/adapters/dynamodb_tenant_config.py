"""Everything ingestion and checks need to know about a tenant, in one Query.

Policies (``POLICY#...``) and price overrides (``PRICE#...``) sit side by side in the tenant's
partition; one key-range query returns both and nothing else (slots sort after them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.dynamodb_codec import from_item, to_item
from budget_core.adapters.dynamodb_errors import is_busy
from budget_core.adapters.keys import POLICY_PREFIX, PRICE_PREFIX, tenant_pk
from budget_core.adapters.policy_items import policy_from_item
from budget_core.domain.ingestion_ports import TenantBudgetConfig, TransientStoreError
from budget_core.domain.pricing.overrides import PriceOverride

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

OVERRIDE_ENTITY = "price_override"


class DynamoDBTenantConfigSource:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self, tenant_id: str) -> TenantBudgetConfig:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": to_item(
                {":pk": tenant_pk(tenant_id), ":first": POLICY_PREFIX, ":last": PRICE_PREFIX + "\uffff"}
            ),
        }
        policies, overrides = [], {}
        while True:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                if is_busy(error):
                    raise TransientStoreError("tenant configuration unreadable") from error
                raise
            for raw in response.get("Items", []):
                item = from_item(raw)
                if item["sk"].startswith(POLICY_PREFIX):
                    policies.append(policy_from_item(item))
                else:
                    override = override_from_item(item)
                    overrides[(override.provider, override.model)] = override
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                return TenantBudgetConfig(policies=tuple(policies), overrides=overrides)
            request["ExclusiveStartKey"] = last_key


def override_from_item(item: dict[str, Any]) -> PriceOverride:
    data = {k: v for k, v in item.items() if k not in ("pk", "sk", "entity", "tenant_id")}
    data["revision"] = int(data.get("revision", 1))
    return PriceOverride.model_validate(data)
