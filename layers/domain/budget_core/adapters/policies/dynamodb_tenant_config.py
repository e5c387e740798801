"""Everything ingestion and checks need to know about a tenant, in one Query.

Policies (``POLICY#...``) and price overrides (``PRICE#...``) sit side by side in the tenant's
partition; one key-range query returns both and nothing else (slots sort after them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget_core.adapters.policies.policy_items import policy_from_item
from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import (
    CONFIG_ENTITY,
    CONFIG_SK,
    POLICY_PREFIX,
    PRICE_PREFIX,
    tenant_config_key,
    tenant_pk,
)
from budget_core.domain.tenants.config import TenantBudgetConfig
from budget_core.domain.usage.pricing.overrides import PriceOverride

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef, TransactWriteItemTypeDef

OVERRIDE_ENTITY = "price_override"


class DynamoDBTenantConfigSource:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def invalidate(self, tenant_id: str) -> None:
        """Nothing is kept: every load reads the store."""

    def load(self, tenant_id: str) -> TenantBudgetConfig:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": to_item(
                {":pk": tenant_pk(tenant_id), ":first": CONFIG_SK, ":last": PRICE_PREFIX + "\uffff"}
            ),
            # Strongly consistent, and the version item sorts first: a policy read after it is at
            # least as new as the version, so a commit planned with this read is never too new for
            # its own condition (at worst it is refused and planned again).
            "ConsistentRead": True,
        }
        policies, overrides = [], {}
        version = 0
        while True:
            response = self._client.query(**request)
            for raw in response.get("Items", []):
                item = from_item(raw)
                if item["sk"] == CONFIG_SK:
                    version = int(item.get("config_version", 0))
                elif item["sk"].startswith(POLICY_PREFIX):
                    policies.append(policy_from_item(item))
                elif item["sk"].startswith(PRICE_PREFIX):
                    override = override_from_item(item)
                    overrides[(override.provider, override.model)] = override
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                return TenantBudgetConfig(policies=tuple(policies), overrides=overrides, version=version)
            request["ExclusiveStartKey"] = last_key


def override_from_item(item: dict[str, Any]) -> PriceOverride:
    data = {k: v for k, v in item.items() if k not in ("pk", "sk", "entity", "tenant_id")}
    data["revision"] = int(data.get("revision", 1))
    return PriceOverride.model_validate(data)


CONFIG_VERSION_ATTRIBUTE = "config_version"


def require_config_version(update: ItemUpdate, expected: int) -> ItemUpdate:
    """The condition "the tenant's configuration is still at ``expected``" (0: never written)."""
    return update.require_version(CONFIG_VERSION_ATTRIBUTE, expected or None)


def config_version_bump(table: str, tenant_id: str, expected: int | None = None) -> TransactWriteItemTypeDef:
    """The action every policy or price write makes in its own transaction: the tenant's
    configuration version moves, so a commit or reservation planned with the previous one fails its
    check. ``expected``: only from that version (a write judged against the whole set)."""
    update = (
        ItemUpdate(table, tenant_config_key(tenant_id))
        .set("entity", CONFIG_ENTITY)
        .add(CONFIG_VERSION_ATTRIBUTE, 1)
    )
    if expected is not None:
        require_config_version(update, expected)
    return update.action()


def config_version_check(table: str, tenant_id: str, version: int) -> TransactWriteItemTypeDef:
    """The action that makes a transaction commit only under the configuration it was planned with."""
    return require_config_version(ItemUpdate(table, tenant_config_key(tenant_id)), version).condition_check()


def config_version_of(item: dict[str, Any] | None) -> int:
    return int(item.get(CONFIG_VERSION_ATTRIBUTE, 0)) if item else 0
