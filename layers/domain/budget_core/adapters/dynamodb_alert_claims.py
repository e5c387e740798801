"""AlertClaims on the BudgetTable: one transaction per stream record that crosses something.

The transaction checks that the policy still exists and is active, and puts every new claim on the
condition that it does not exist yet. A claim that exists comes back with the cancellation
(``ReturnValuesOnConditionCheckFailure``), which says whether it was delivered: a redelivered record
costs no extra read. Delivery progress is written with one more request, so a crossing costs two
DynamoDB requests plus the publish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.alert_items import claim_item, claim_key, claimed_from_item
from budget_core.adapters.dynamodb_codec import from_item, to_item
from budget_core.adapters.dynamodb_errors import BUSY_CANCELLATION_REASONS, error_code
from budget_core.adapters.keys import policy_key
from budget_core.domain.alert_service import ClaimedAlert, ClaimOutcome
from budget_core.domain.alerting import Alert
from budget_core.domain.errors import ServiceBusy
from budget_core.domain.policy import PolicyStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TRANSACTION_MAX_ACTIONS = 100
CONDITION_FAILED = "ConditionalCheckFailed"


class DynamoDBAlertClaims:
    def __init__(
        self, client: DynamoDBClient, table_name: str, retention: timedelta, now: Callable[[], datetime]
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention
        self._now = now

    def claim(self, alerts: Sequence[Alert]) -> ClaimOutcome:
        pending: list[ClaimedAlert] = []
        duplicates = 0
        remaining = list(alerts)
        # Each round either commits or learns that at least one claim exists; so it ends.
        while remaining:
            reasons = self._try_claim(remaining)
            if reasons is None:
                pending.extend(ClaimedAlert(alert) for alert in remaining)
                break
            if reasons[0].get("Code") == CONDITION_FAILED:
                return ClaimOutcome(pending=[], duplicates=0, policy_gone=True)
            unclaimed: list[Alert] = []
            for alert, reason in zip(remaining, reasons[1:], strict=True):
                if reason.get("Code") != CONDITION_FAILED:
                    unclaimed.append(alert)
                    continue
                existing = self._existing(alert, reason.get("Item"))
                if existing.delivered:
                    duplicates += 1
                else:
                    pending.append(existing)
            remaining = unclaimed
        return ClaimOutcome(pending=pending, duplicates=duplicates)

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        at = self._now().isoformat()
        updates: list[TransactWriteItemTypeDef] = []
        for claim in claims:
            sets = [
                name
                for name, done in (("notified_at", claim.notified), ("announced_at", claim.announced))
                if done
            ]
            if not sets:
                continue
            updates.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item(claim_key(claim.alert)),
                        "UpdateExpression": "SET " + ", ".join(f"{name} = :at" for name in sets),
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": to_item({":at": at}),
                    }
                }
            )
        if len(updates) == 1:
            self._client.update_item(**updates[0]["Update"])
            return
        for start in range(0, len(updates), TRANSACTION_MAX_ACTIONS):
            self._client.transact_write_items(TransactItems=updates[start : start + TRANSACTION_MAX_ACTIONS])

    def _try_claim(self, alerts: list[Alert]) -> list[dict[str, Any]] | None:
        """None when every claim was written; else the cancellation reasons, policy check first."""
        counter = alerts[0].counter
        claimed_at = self._now()
        actions: list[TransactWriteItemTypeDef] = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": to_item(policy_key(counter.tenant_id, counter.policy_id)),
                    "ConditionExpression": "attribute_exists(pk) AND #status = :active",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_item({":active": PolicyStatus.ACTIVE.value}),
                }
            }
        ]
        for alert in alerts:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(claim_item(alert, claimed_at, self._retention)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [dict(r) for r in error.response.get("CancellationReasons", [])]
            codes = {str(r.get("Code")) for r in reasons}
            if codes & BUSY_CANCELLATION_REASONS or CONDITION_FAILED not in codes:
                raise ServiceBusy(f"alert claim cancelled: {sorted(codes)}") from error
            return reasons
        return None

    def _existing(self, alert: Alert, returned: Any) -> ClaimedAlert:
        if returned:
            return claimed_from_item(from_item(returned))
        response = self._client.get_item(
            TableName=self._table, Key=to_item(claim_key(alert)), ConsistentRead=True
        )
        return claimed_from_item(from_item(response["Item"]))
