"""A tenant's price overrides in its partition (``PRICE#{provider}#{model}``), beside its policies:
the tenant's configuration read (one Query) returns both, and every write moves its version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.policies.dynamodb_tenant_config import (
    OVERRIDE_ENTITY,
    config_version_bump,
    override_from_item,
)
from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import (
    PRICE_PREFIX,
    price_override_key,
    tenant_pk,
)
from budget_core.domain.shared.errors import ConcurrentModification
from budget_core.domain.usage.pricing.overrides import PriceOverride

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class DynamoDBPriceOverrides:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def list(self, tenant_id: str) -> list[PriceOverride]:
        found: list[PriceOverride] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": tenant_pk(tenant_id), ":prefix": PRICE_PREFIX}),
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**request)
            found.extend(override_from_item(from_item(raw)) for raw in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def put(self, tenant_id: str, override: PriceOverride, replaces: PriceOverride | None) -> None:
        item = {
            **price_override_key(tenant_id, override.provider, override.model),
            "entity": OVERRIDE_ENTITY,
            "tenant_id": tenant_id,
            **override.model_dump(mode="python", exclude_none=True),
        }
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(item)}
        if replaces is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "revision = :revision"
            put["ExpressionAttributeValues"] = to_item({":revision": replaces.revision})
        self._write([{"Put": put}, config_version_bump(self._table, tenant_id)])  # type: ignore[typeddict-item]

    def delete(self, tenant_id: str, override: PriceOverride) -> None:
        delete: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(price_override_key(tenant_id, override.provider, override.model)),
            "ConditionExpression": "revision = :revision",
            "ExpressionAttributeValues": to_item({":revision": override.revision}),
        }
        self._write([{"Delete": delete}, config_version_bump(self._table, tenant_id)])  # type: ignore[typeddict-item]

    def _write(self, actions: Sequence[TransactWriteItemTypeDef]) -> None:
        try:
            self._client.transact_write_items(TransactItems=list(actions))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise ConcurrentModification(
                "the price override changed meanwhile: read it again and retry"
            ) from None
