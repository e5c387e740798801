"""AlertClaims on the BudgetTable: one transaction per stream record that crosses something.

The transaction checks that the policy still exists and is active, and puts every new claim on the
condition that it does not exist yet, leased to this caller and listed in the sparse pending index
(gsi2). A claim that exists comes back with the cancellation (``ReturnValuesOnConditionCheckFailure``),
which says whether it was delivered: a redelivered record costs no extra read. Delivery progress is
written with one more request, which also takes a delivered claim out of the pending index, so a
crossing costs two DynamoDB requests plus the publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.alerts.alert_items import claim_item, claim_key, claimed_from_item
from budget_core.adapters.shared.aws_errors import BUSY_CANCELLATION_REASONS, error_code, guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import PENDING_ALERTS_PARTITION, policy_key
from budget_core.domain.alerts.rules import Alert, AlertKind
from budget_core.domain.alerts.service import ClaimedAlert, ClaimOutcome
from budget_core.domain.policies.enums import PolicyStatus
from budget_core.domain.shared.clock import Clock
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
        clock: Clock,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._client = guarded(client)
        self._table = table_name
        self._retention = retention
        self._clock = clock
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
                leased = self._take_lease(claim_key(alert))
                if leased is None:
                    in_flight += 1
                elif leased.delivered:
                    duplicates += 1
                else:
                    pending.append(leased)
            remaining = unclaimed
        return ClaimOutcome(pending=pending, duplicates=duplicates, in_flight=in_flight)

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        at = self._clock.now().isoformat()
        updates: list[ItemUpdate] = []
        for claim in claims:
            update = self._update(claim)
            for attribute, done in (("notified_at", claim.notified), ("announced_at", claim.announced)):
                if done:
                    update.set_if_absent(attribute, at)
            if claim.delivered:
                update.remove("gsi2pk", "gsi2sk", "lease_until")
            else:
                update.set("lease_until", 0)
            updates.append(update)
        self._write(updates)

    def lease_pending(self, limit: int) -> list[ClaimedAlert]:
        now = int(self._clock.now().timestamp())
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
                claim = self._take_lease(from_item({"pk": raw["pk"], "sk": raw["sk"]}))
                if claim is not None and not claim.delivered:
                    leased.append(claim)
            start_key = response.get("LastEvaluatedKey")
            if start_key is None:
                break
        return leased

    def skip(self, claims: Sequence[ClaimedAlert], reason: str) -> None:
        at = self._clock.now().isoformat()
        self._write(
            [
                self._update(claim)
                .set("skipped_at", at)
                .set("skip_reason", reason)
                .remove("gsi2pk", "gsi2sk", "lease_until")
                for claim in claims
            ]
        )

    def _update(self, claim: ClaimedAlert) -> ItemUpdate:
        """An update of a claim that exists (one the sweep or a retry may have finished meanwhile)."""
        return ItemUpdate(self._table, claim_key(claim.alert)).require_present("pk")

    def _write(self, updates: list[ItemUpdate]) -> None:
        """One request: an UpdateItem, or a transaction of them."""
        if len(updates) == 1:
            self._client.update_item(**updates[0].request())
            return
        for start in range(0, len(updates), TRANSACTION_MAX_ACTIONS):
            chunk = [u.action() for u in updates[start : start + TRANSACTION_MAX_ACTIONS]]
            self._client.transact_write_items(TransactItems=chunk)

    def _take_lease(self, key: dict[str, Any]) -> ClaimedAlert | None:
        """The claim at ``key`` as it stands once leased to this caller; None when
        another deliverer holds it."""
        now = self._clock.now()
        update = ItemUpdate(self._table, key).set("lease_until", int((now + self._lease).timestamp()))
        lease = update.name("lease_until")
        update.require_present("gsi2pk")
        update.require(f"attribute_not_exists({lease}) OR {lease} < {update.value(int(now.timestamp()))}")
        try:
            response = self._client.update_item(**update.request(), ReturnValues="ALL_NEW")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return claimed_from_item(from_item(response["Attributes"]))

    def _try_claim(self, alerts: list[Alert]) -> list[dict[str, Any]] | None:
        """None when every claim was written; else the cancellation reasons, policy check first."""
        claimed_at = self._clock.now()
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
    check = (
        ItemUpdate(table, policy_key(counter.tenant_id, counter.policy_id))
        .require_present("pk")
        .require_equal("status", PolicyStatus.ACTIVE.value)
        .require_equal("limit_usd", counter.limit_usd)
    )
    if counter.basis_version == 1:  # policies stored before bases existed have no basis_version
        basis = check.name("basis_version")
        check.require(f"attribute_not_exists({basis}) OR {basis} = {check.value(1)}")
    else:
        check.require_equal("basis_version", counter.basis_version)
    thresholds = sorted({a.threshold_percent for a in alerts if a.kind is AlertKind.ACTUAL})
    for threshold in thresholds:
        check.require(f"contains({check.name('alert_thresholds')}, {check.value(threshold)})")
    return check.condition_check()
