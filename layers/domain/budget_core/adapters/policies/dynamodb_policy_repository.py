"""PolicyRepository on the BudgetTable.

Uniqueness of (scope, period, filters) holds under concurrency because the policy item and its
slot item are written in one transaction, each conditioned on not existing: of two simultaneous
creates, DynamoDB lets exactly one commit. No read-then-write decides a conflict.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.checks.counter_items import counter_item_key, counter_snapshot
from budget_core.adapters.policies.dynamodb_tenant_config import (
    config_version_bump,
)
from budget_core.adapters.policies.policy_items import policy_from_item, policy_to_item
from budget_core.adapters.shared.aws_errors import BUSY_CANCELLATION_REASONS, guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import (
    POLICY_PREFIX,
    policy_key,
    policy_slot_key,
    tenant_pk,
)
from budget_core.domain.checks.spend import counter_key
from budget_core.domain.policies.policy import POLICY_ID, Policy
from budget_core.domain.policies.ports import Page, PolicyQuery
from budget_core.domain.shared.errors import (
    ConcurrentModification,
    InvalidRequest,
    NotFound,
    PolicyConflict,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

SLOT_ENTITY = "policy_slot"
TRANSACTION_CONFLICT_ATTEMPTS = 4


class DynamoDBPolicyRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def create(self, policy: Policy, config_version: int | None = None) -> None:
        slot_key = policy.uniqueness_key()
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": policy_to_item(policy),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._claim_slot(policy, slot_key),
                self._bump_config(policy.tenant_id, config_version),
            ],
            policy,
            slot_index=1,
        )

    def get(self, tenant_id: str, policy_id: str) -> Policy | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(policy_key(tenant_id, policy_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return policy_from_item(from_item(item)) if item else None

    def query(self, tenant_id: str, query: PolicyQuery) -> Page[Policy]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": tenant_pk(tenant_id), ":prefix": POLICY_PREFIX}),
        }
        filters, names = [], {}
        values: dict[str, Any] = {}
        if query.scope_type is not None:
            filters.append("#scope.#type = :scope_type")
            names.update({"#scope": "scope", "#type": "type"})
            values[":scope_type"] = query.scope_type.value
        if query.scope_id is not None:
            filters.append("#scope.#id = :scope_id")
            names.update({"#scope": "scope", "#id": "id"})
            values[":scope_id"] = query.scope_id
        if query.status is not None:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = query.status.value
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
            request["ExpressionAttributeNames"] = names
            request["ExpressionAttributeValues"] = {**request["ExpressionAttributeValues"], **to_item(values)}

        start_key = _decode_token(query.next_token, tenant_id)
        items: list[Policy] = []
        # A filter drops items after DynamoDB counted them, so keep reading until the page is full.
        while True:
            if start_key is not None:
                request["ExclusiveStartKey"] = start_key
            request["Limit"] = query.limit - len(items) + 1
            response = self._client.query(**request)
            items.extend(policy_from_item(from_item(i)) for i in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if len(items) > query.limit or last_key is None:
                break
            start_key = last_key
        if len(items) > query.limit:
            items = items[: query.limit]
            return Page(items, _encode_token(items[-1].policy_id))
        return Page(items, None)

    def replace(self, current: Policy, updated: Policy, config_version: int | None = None) -> None:
        actions: list[TransactWriteItemTypeDef] = [self._put_if_version(updated, current.version)]
        old_slot, new_slot = current.uniqueness_key(), updated.uniqueness_key()
        if old_slot != new_slot:
            actions.append(self._release_slot(current, old_slot))
            actions.append(self._claim_slot(updated, new_slot))
        actions.append(self._bump_config(updated.tenant_id, config_version))
        actions.append(self._touch_counter(updated))
        self._transact(actions, updated, slot_index=2 if old_slot != new_slot else None)

    def delete(self, current: Policy) -> None:
        self._transact(
            [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(policy_key(current.tenant_id, current.policy_id)),
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeValues": to_item({":version": current.version}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                self._release_slot(current, current.uniqueness_key()),
                self._bump_config(current.tenant_id),
            ],
            current,
            slot_index=None,
        )

    def _bump_config(self, tenant_id: str, expected: int | None = None) -> TransactWriteItemTypeDef:
        return config_version_bump(self._table, tenant_id, expected)

    def _touch_counter(self, policy: Policy) -> TransactWriteItemTypeDef:
        """The current period's counter takes the edited policy's snapshot at once: the alert
        function judges the spend already there by the new limit and thresholds (a limit lowered
        below the spend alerts now, not at the next event), and holds placed on the old state fail
        their ``rev`` check."""
        key, window = counter_key(policy, policy.updated_at)
        return (
            ItemUpdate(self._table, counter_item_key(key))
            .set_all(counter_snapshot(policy, key, window, policy.updated_at))
            .add("rev", 1)
            .action()
        )

    def _put_if_version(self, policy: Policy, expected_version: int) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._table,
                "Item": policy_to_item(policy),
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": to_item({":version": expected_version}),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _claim_slot(self, policy: Policy, slot: str) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(
                    {
                        **policy_slot_key(policy.tenant_id, slot),
                        "entity": SLOT_ENTITY,
                        "policy_id": policy.policy_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _release_slot(self, policy: Policy, slot: str) -> TransactWriteItemTypeDef:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": to_item(policy_slot_key(policy.tenant_id, slot)),
                "ConditionExpression": "policy_id = :policy_id",
                "ExpressionAttributeValues": to_item({":policy_id": policy.policy_id}),
            }
        }

    def _transact(
        self, actions: list[TransactWriteItemTypeDef], policy: Policy, slot_index: int | None
    ) -> None:
        # DynamoDB cancels one of two transactions that touch the same item at the same moment with
        # TransactionConflict (not ConditionalCheckFailed); a short retry turns that into the real
        # answer (a commit, or the condition that decides a 409/412).
        for attempt in range(TRANSACTION_CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=actions)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = [
                    dict(r) for r in error.response.get("CancellationReasons", [])
                ]
            codes = {str(r.get("Code")) for r in reasons} - {"None"}
            if codes & BUSY_CANCELLATION_REASONS and not codes & {"ConditionalCheckFailed"}:
                if attempt + 1 < TRANSACTION_CONFLICT_ATTEMPTS:
                    time.sleep(0.02 * 2**attempt + random.uniform(0, 0.02))  # noqa: S311 - jitter
                    continue
                raise StoreUnavailable("the policy store is busy; retry shortly")
            raise self._explain(reasons, policy, slot_index)

    def _explain(self, reasons: list[dict[str, Any]], policy: Policy, slot_index: int | None) -> Exception:
        def failed(index: int) -> bool:
            return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"

        if slot_index is not None and failed(slot_index):
            holder = self._slot_holder(policy, reasons[slot_index].get("Item"))
            if holder != policy.policy_id:
                return PolicyConflict(
                    f"policy '{holder}' already covers this scope, period and filters",
                    details=[{"field": "scope", "existing_policy_id": holder}],
                    existing_policy_id=holder,
                )
        if failed(0):
            if reasons[0].get("Item") or self.get(policy.tenant_id, policy.policy_id) is not None:
                return ConcurrentModification("the policy changed while this request ran; try again")
            return NotFound(f"policy '{policy.policy_id}' does not exist")
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return ConcurrentModification("the policy changed while this request ran; try again")
        codes = ", ".join(str(r.get("Code")) for r in reasons)
        return RuntimeError(f"policy transaction cancelled: {codes}")

    def _slot_holder(self, policy: Policy, returned: dict[str, AttributeValueTypeDef] | None) -> str:
        if returned and "policy_id" in returned:
            return str(from_item(returned)["policy_id"])
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(policy_slot_key(policy.tenant_id, policy.uniqueness_key())),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return str(from_item(item)["policy_id"]) if item else "unknown"


def _encode_token(policy_id: str) -> str:
    raw = json.dumps({"after": policy_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str | None, tenant_id: str) -> dict[str, AttributeValueTypeDef] | None:
    """The token names a policy id only; the partition is always the caller's own tenant."""
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
        if not isinstance(after, str) or not POLICY_ID.match(after):
            raise ValueError(after)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest(
            "next_token is not one this API gave out", details=[{"field": "next_token"}]
        ) from None
    return to_item(policy_key(tenant_id, after))
