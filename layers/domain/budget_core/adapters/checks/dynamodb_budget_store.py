"""Counters read for checks, and reservations placed on them, in the BudgetTable.

A check is one BatchGetItem of the counters of the current periods (strongly consistent). A
reservation is one transaction: the reservation record (conditioned on not existing, which makes
an Idempotency-Key safe under races) and one hold per hard-limit counter, each conditioned on the
counter's ``rev`` being what the check read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from budget_core.adapters.checks.counter_items import (
    counter_item_key,
    counter_snapshot,
    counter_state,
)
from budget_core.adapters.checks.hold_items import (
    HELD_AS_SUM,
    close_record,
    counter_from_stored,
    counter_to_stored,
)
from budget_core.adapters.policies.dynamodb_tenant_config import config_version_check, config_version_of
from budget_core.adapters.shared.aws_errors import guarded
from budget_core.adapters.shared.dynamodb_batch_get import consistent_batch_get
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import (
    CONFIG_SK,
    hold_attribute,
    reservation_key,
    reserved_attribute,
    tenant_config_key,
)
from budget_core.domain.checks.models import Reservation
from budget_core.domain.checks.ports import HoldConflict
from budget_core.domain.checks.spend import CounterState
from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.periods import PeriodWindow, period_window
from budget_core.domain.tenants.config import StaleConfiguration
from budget_core.domain.usage.accounting import PolicyCounterKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

RESERVATION_ENTITY = "reservation"
RECORD_RETENTION = timedelta(days=7)  # reservation records are kept (then expire) after the hold ends
BATCH_GET_MAX = 100


class DynamoDBCounterReader:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def read(self, keys: Sequence[PolicyCounterKey]) -> dict[PolicyCounterKey, CounterState]:
        states, _ = self._read(keys, None)
        return states

    def read_with_config(
        self, tenant_id: str, keys: Sequence[PolicyCounterKey]
    ) -> tuple[dict[PolicyCounterKey, CounterState], int]:
        return self._read(keys, tenant_id)

    def _read(
        self, keys: Sequence[PolicyCounterKey], config_tenant: str | None
    ) -> tuple[dict[PolicyCounterKey, CounterState], int]:
        by_marker = {(k.tenant_id, k.policy_id, k.period_key, k.basis): k for k in keys}
        states: dict[PolicyCounterKey, CounterState] = {k: CounterState() for k in keys}
        pending = [to_item(counter_item_key(k)) for k in keys]
        config_key = to_item(tenant_config_key(config_tenant)) if config_tenant is not None else None
        if config_key is not None:
            pending.insert(0, config_key)
        version = 0
        for item in consistent_batch_get(self._client, self._table, pending, "counters"):
            if item.get("sk") == CONFIG_SK:
                version = config_version_of(item)
                continue
            marker = (
                item.get("tenant_id"),
                item.get("policy_id"),
                item.get("period_key"),
                int(item.get("basis_version", 1)),
            )
            if marker in by_marker:
                states[by_marker[marker]] = counter_state(item)
        return states, version


class DynamoDBReservationStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def get(self, tenant_id: str, reservation_id: str) -> Reservation | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(reservation_key(tenant_id, reservation_id)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _reservation_from_item(from_item(item)) if item else None

    def place(
        self,
        reservation: Reservation,
        holds: Sequence[tuple[Policy, PolicyCounterKey, CounterState]],
        now: datetime,
        config_version: int,
    ) -> None:
        actions: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(_reservation_item(reservation)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for policy, key, state in holds:
            actions.append(self._hold(policy, key, state, reservation, now))
        actions.append(config_version_check(self._table, reservation.tenant_id, config_version))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [str(r.get("Code")) for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise FileExistsError(reservation.reservation_id) from None
            if len(reasons) == len(actions) and reasons[-1] == "ConditionalCheckFailed":
                raise StaleConfiguration({reservation.tenant_id}) from None
            raise HoldConflict(",".join(reasons)) from None

    def _hold(
        self,
        policy: Policy,
        key: PolicyCounterKey,
        state: CounterState,
        reservation: Reservation,
        now: datetime,
    ) -> TransactWriteItemTypeDef:
        window = period_window(policy.period, policy.timezone, now)
        update = (
            ItemUpdate(self._table, counter_item_key(key))
            .set_all(counter_snapshot(policy, key, window, now))
            .add(reserved_attribute(int(reservation.expires_at.timestamp())), reservation.amount_usd)
            .add("rev", 1)
            .require_version("rev", state.rev)
        )
        # housekeeping: sums and holds that no longer count go now, so the item holds at most one
        # sum per minute of the longest hold
        update.remove_all(hold_attribute(rid) for rid in state.expired_holds(now))
        update.remove_all(reserved_attribute(at) for at in state.expired_buckets(now))
        return update.action()

    def release(self, reservation: Reservation, now: datetime) -> None:
        actions: list[TransactWriteItemTypeDef] = [
            close_record(self._table, reservation.tenant_id, reservation.reservation_id, "released", now)
        ]
        for key in reservation.counters:
            # the hold comes off its minute's sum, or (placed before sums) its own attribute
            update = (
                ItemUpdate(self._table, counter_item_key(key))
                .remove(hold_attribute(reservation.reservation_id))
                .add("rev", 1)
                .require_present("pk")
            )
            if reservation.summed:
                update.add(
                    reserved_attribute(int(reservation.expires_at.timestamp())), -reservation.amount_usd
                )
            actions.append(update.action())
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            reasons = [str(r.get("Code")) for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return  # released before: releasing twice changes nothing
            raise


def _reservation_item(reservation: Reservation) -> dict[str, Any]:
    return {
        **reservation_key(reservation.tenant_id, reservation.reservation_id),
        "entity": RESERVATION_ENTITY,
        "tenant_id": reservation.tenant_id,
        "reservation_id": reservation.reservation_id,
        "amount_usd": reservation.amount_usd,
        "created_at": reservation.created_at.isoformat(),
        "hold_expires_at": reservation.expires_at.isoformat(),
        "counters": [counter_to_stored(k) for k in reservation.counters],
        "request_hash": reservation.request_hash,
        "status": "active",
        "held_as": HELD_AS_SUM,
        "expires_at": int((reservation.expires_at + RECORD_RETENTION).timestamp()),
    }


def _reservation_from_item(item: dict[str, Any]) -> Reservation:
    tenant = str(item["tenant_id"])
    return Reservation(
        reservation_id=str(item["reservation_id"]),
        tenant_id=tenant,
        amount_usd=item["amount_usd"],
        created_at=datetime.fromisoformat(item["created_at"]).astimezone(UTC),
        expires_at=datetime.fromisoformat(item["hold_expires_at"]).astimezone(UTC),
        counters=[counter_from_stored(tenant, str(c)) for c in item.get("counters", [])],
        request_hash=str(item["request_hash"]),
        summed=item.get("held_as") == HELD_AS_SUM,
        status=str(item.get("status", "active")),
        settled_by=str(item["settled_by"]) if item.get("settled_by") else None,
    )


class DynamoDBSeedStore:
    """Writes a counter's seed: ADD the spend recorded before the policy, once (``seeded_at``)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = guarded(client)
        self._table = table_name

    def add_seed(
        self,
        policy: Policy,
        key: PolicyCounterKey,
        window: PeriodWindow,
        amount: Decimal,
        expected_rev: int | None,
        now: datetime,
    ) -> bool:
        update = (
            ItemUpdate(self._table, counter_item_key(key))
            .set("seeded_at", now.isoformat())
            .set("seed_usd", amount)
            .set_all(counter_snapshot(policy, key, window, now))
            .add("spent_usd", amount)
            .add("rev", 1)
            .require_version("rev", expected_rev)
            .require_absent("seeded_at")
        )
        try:
            self._client.update_item(**update.request())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
