"""AlertClaims on the BudgetTable: one transaction per stream record that crosses something.

The transaction checks that the policy still exists and is active, and puts every new claim on the
condition that it does not exist yet, leased to this caller and listed in the sparse pending index
(gsi2). A claim that exists comes back with the cancellation (``ReturnValuesOnConditionCheckFailure``),
which says whether it was delivered: a redelivered record costs no extra read. Delivery progress is
written with one more request, which also takes a delivered claim out of the pending index, so a
crossing costs two DynamoDB requests plus the publish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.alerts.alert_items import claim_item, claim_key, claimed_from_item
from budget_core.adapters.shared.aws_errors import BUSY_CANCELLATION_REASONS, error_code, guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.keys import PENDING_ALERTS_PARTITION, policy_key
from budget_core.domain.alerts.rules import Alert, AlertKind
from budget_core.domain.alerts.service import ClaimedAlert, ClaimOutcome
from budget_core.domain.policies.enums import PolicyStatus
from budget_core.domain.shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TRANSACTION_MAX_ACTIONS = 100
CONDITION_FAILED = "ConditionalCheckFailed"
PENDING_INDEX = "gsi2"
# Long enough for one delivery (two calls with short timeouts), short enough for a quick retry
# after a crash: the stream's retry or the sweep takes over once it has run out.
DEFAULT_LEASE = timedelta(seconds=60)


class DynamoDBAlertClaims:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retention: timedelta,
        now: Callable[[], datetime],
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._client = guarded(client)
        self._table = table_name
        self._retention = retention
        self._now = now
        self._lease = lease

    def claim(self, alerts: Sequence[Alert]) -> ClaimOutcome:
        pending: list[ClaimedAlert] = []
        duplicates = in_flight = 0
        remaining = list(alerts)
        # Each round either commits or learns that at least one claim exists; so it ends.
        while remaining:
            reasons = self._try_claim(remaining)
            if reasons is None:
                pending.extend(ClaimedAlert(alert) for alert in remaining)
                break
            if reasons[0].get("Code") == CONDITION_FAILED:
                # deleted, paused, or its limit, thresholds or scope changed since the counter write:
                # the alert would not be true at the policy in force (the edit's own counter write
                # raises what is true now)
                return ClaimOutcome(pending=[], policy_gone=True)
            unclaimed: list[Alert] = []
            for alert, reason in zip(remaining, reasons[1:], strict=True):
                if reason.get("Code") != CONDITION_FAILED:
                    unclaimed.append(alert)
                    continue
                # ALL_OLD: a put refused because the claim exists hands that claim back
                existing = claimed_from_item(from_item(reason["Item"]))
                if existing.delivered:
                    duplicates += 1
                    continue
                leased = self._take_lease(to_item(claim_key(alert)))
                if leased is None:
                    in_flight += 1
                elif leased.delivered:
                    duplicates += 1
                else:
                    pending.append(leased)
            remaining = unclaimed
        return ClaimOutcome(pending=pending, duplicates=duplicates, in_flight=in_flight)

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        at = self._now().isoformat()
        updates: list[dict[str, Any]] = []
        for claim in claims:
            progress = (("notified_at", claim.notified), ("announced_at", claim.announced))
            sets = [f"{name} = if_not_exists({name}, :at)" for name, done in progress if done]
            values: dict[str, Any] = {":at": at} if sets else {}
            if claim.delivered:
                expression = f"SET {', '.join(sets)} REMOVE gsi2pk, gsi2sk, lease_until"
            else:
                expression = "SET " + ", ".join([*sets, "lease_until = :released"])
                values[":released"] = 0
            updates.append(self._update(claim, expression, values))
        self._write(updates)

    def lease_pending(self, limit: int) -> list[ClaimedAlert]:
        now = int(self._now().timestamp())
        leased: list[ClaimedAlert] = []
        start_key: Any = None
        while len(leased) < limit:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": PENDING_INDEX,
                "KeyConditionExpression": "gsi2pk = :pending",
                "FilterExpression": "attribute_not_exists(lease_until) OR lease_until < :now",
                "ExpressionAttributeValues": to_item({":pending": PENDING_ALERTS_PARTITION, ":now": now}),
                "Limit": limit - len(leased),
            }
            if start_key is not None:
                request["ExclusiveStartKey"] = start_key
            response = self._client.query(**request)
            for raw in response.get("Items", []):
                claim = self._take_lease({"pk": raw["pk"], "sk": raw["sk"]})
                if claim is not None and not claim.delivered:
                    leased.append(claim)
            start_key = response.get("LastEvaluatedKey")
            if start_key is None:
                break
        return leased

    def skip(self, claims: Sequence[ClaimedAlert], reason: str) -> None:
        at = self._now().isoformat()
        expression = "SET skipped_at = :at, skip_reason = :reason REMOVE gsi2pk, gsi2sk, lease_until"
        self._write([self._update(claim, expression, {":at": at, ":reason": reason}) for claim in claims])

    def _update(self, claim: ClaimedAlert, expression: str, values: dict[str, Any]) -> dict[str, Any]:
        """An update of a claim that exists (one the sweep or a retry may have finished meanwhile)."""
        return {
            "TableName": self._table,
            "Key": to_item(claim_key(claim.alert)),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": to_item(values),
        }

    def _write(self, updates: list[dict[str, Any]]) -> None:
        """One request: an UpdateItem, or a transaction of them."""
        if len(updates) == 1:
            self._client.update_item(**updates[0])
            return
        for start in range(0, len(updates), TRANSACTION_MAX_ACTIONS):
            chunk: list[Any] = [{"Update": u} for u in updates[start : start + TRANSACTION_MAX_ACTIONS]]
            self._client.transact_write_items(TransactItems=chunk)

    def _take_lease(self, key: dict[str, Any]) -> ClaimedAlert | None:
        """The claim at ``key`` (attribute values) as it stands once leased to this caller; None when
        another deliverer holds it."""
        now = self._now()
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="attribute_exists(gsi2pk) AND "
                "(attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeValues=to_item(
                    {":until": int((now + self._lease).timestamp()), ":now": int(now.timestamp())}
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return claimed_from_item(from_item(response["Attributes"]))

    def _try_claim(self, alerts: list[Alert]) -> list[dict[str, Any]] | None:
        """None when every claim was written; else the cancellation reasons, policy check first."""
        claimed_at = self._now()
        actions: list[TransactWriteItemTypeDef] = [_policy_in_force(self._table, alerts)]
        for alert in alerts:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(claim_item(alert, claimed_at, self._retention, self._lease)),
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
                raise StoreUnavailable(f"alert claim cancelled: {sorted(codes)}") from error
            return reasons
        return None


def _policy_in_force(table: str, alerts: Sequence[Alert]) -> TransactWriteItemTypeDef:
    """The claims' condition: the policy exists, is active, and still has the limit, the basis and
    the thresholds that the counter write was judged by."""
    counter = alerts[0].counter
    conditions = ["attribute_exists(pk)", "#status = :active", "limit_usd = :limit"]
    values: dict[str, Any] = {":active": PolicyStatus.ACTIVE.value, ":limit": counter.limit_usd}
    names = {"#status": "status"}
    if counter.basis_version == 1:  # policies stored before bases existed have no basis_version
        conditions.append("(attribute_not_exists(basis_version) OR basis_version = :basis)")
    else:
        conditions.append("basis_version = :basis")
    values[":basis"] = counter.basis_version
    thresholds = sorted({a.threshold_percent for a in alerts if a.kind is AlertKind.ACTUAL})
    for index, threshold in enumerate(thresholds):
        conditions.append(f"contains(alert_thresholds, :t{index})")
        values[f":t{index}"] = threshold
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": to_item(policy_key(counter.tenant_id, counter.policy_id)),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }
    }
