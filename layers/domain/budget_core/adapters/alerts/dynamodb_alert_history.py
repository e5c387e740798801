"""AlertHistoryReader on the BudgetTable's gsi1: one query on the tenant's alert partition."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC
from typing import TYPE_CHECKING, Any

from budget_core.adapters.alerts.alert_items import alert_from_item
from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import ALERT_PREFIX, alert_history_partition, policy_partition
from budget_core.domain.alerts.history import AlertQuery, AlertRecord
from budget_core.domain.policies.policy import POLICY_ID
from budget_core.domain.policies.ports import Page
from budget_core.domain.shared.errors import InvalidRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

HISTORY_INDEX = "gsi1"
MAX_ROUNDS = 5
_SORT_KEY = re.compile(r"^[0-9T:.+-]{19,40}#[0-9]{4}#alt_[0-9a-f]{28}$")
# A#{period}@{basis}#{kind}#{threshold}#{limit} (see keys.alert_claim_key)
_CLAIM_SORT_KEY = re.compile(
    rf"^{ALERT_PREFIX}[0-9A-Za-z-]{{4,10}}@[0-9]{{1,10}}#[a-z]{{1,10}}#[0-9]{{4}}#[0-9]{{1,13}}\.[0-9]{{2,10}}$"
)


class DynamoDBAlertHistory:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def query(self, tenant_id: str, query: AlertQuery) -> Page[AlertRecord]:
        values: dict[str, Any] = {":pk": alert_history_partition(tenant_id)}
        condition = "gsi1pk = :pk"
        if query.since is not None:
            condition += " AND gsi1sk >= :since"
            values[":since"] = query.since.astimezone(UTC).isoformat()
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": HISTORY_INDEX,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        if query.policy_id is not None:
            request["FilterExpression"] = "policy_id = :policy_id"
            values[":policy_id"] = query.policy_id
        request["ExpressionAttributeValues"] = to_item(values)

        scope = _query_scope(query)
        start_key = _decode_token(query.next_token, tenant_id, scope)
        records: list[AlertRecord] = []
        position: dict[str, Any] = {}
        # A filter drops items after DynamoDB counted them: read on until the page is full, but at
        # most MAX_ROUNDS times, then answer a short page with a token to go on from.
        for _ in range(MAX_ROUNDS):
            if start_key is not None:
                request["ExclusiveStartKey"] = start_key
            request["Limit"] = query.limit - len(records)
            response = self._client.query(**request)
            records.extend(record_from_item(from_item(raw)) for raw in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                return Page(records, None)
            start_key = last_key
            position = from_item(last_key)
            if len(records) >= query.limit:
                break
        return Page(records, _encode_token(position, scope))


def record_from_item(item: dict[str, Any]) -> AlertRecord:
    return AlertRecord(alert_from_item(item), delivered="notified_at" in item, skipped="skipped_at" in item)


def _query_scope(query: AlertQuery) -> str:
    """What a token is only valid for: the same filters (DynamoDB refuses a start key outside the
    key condition, so a token must not travel to another ``since``)."""
    since = query.since.astimezone(UTC).isoformat() if query.since is not None else ""
    return f"{query.policy_id or ''}|{since}"


def _encode_token(key: dict[str, Any], scope: str) -> str:
    policy_id = str(key["pk"]).rsplit("#P#", 1)[-1]
    raw = json.dumps(
        {"s": key["gsi1sk"], "p": policy_id, "a": key["sk"], "q": scope}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str | None, tenant_id: str, scope: str) -> dict[str, AttributeValueTypeDef] | None:
    """The token names positions only; the partitions are always the caller's own tenant's."""
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        fields = json.loads(base64.urlsafe_b64decode(padded.encode()))
        sort_key, policy_id, claim_sk = fields["s"], fields["p"], fields["a"]
        if not all(isinstance(v, str) for v in (sort_key, policy_id, claim_sk)):
            raise ValueError(fields)
        if not (_SORT_KEY.match(sort_key) and POLICY_ID.match(policy_id) and _CLAIM_SORT_KEY.match(claim_sk)):
            raise ValueError(fields)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest(
            "next_token is not one this API gave out", details=[{"field": "next_token"}]
        ) from None
    if fields.get("q") != scope:
        raise InvalidRequest(
            "next_token belongs to a query with other policy_id or since; repeat those",
            details=[{"field": "next_token"}],
        )
    return to_item(
        {
            "gsi1pk": alert_history_partition(tenant_id),
            "gsi1sk": sort_key,
            "pk": policy_partition(tenant_id, policy_id),
            "sk": claim_sk,
        }
    )
