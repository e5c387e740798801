"""UsageLedger on the BudgetTable: one commit, one TransactWriteItems.

Each event is a Put conditioned on ``attribute_not_exists(pk)``; each counter an Update with ADD.
If any event was applied before (producer retry, Kinesis redelivery, a Lambda retry after a crash
half-way through a batch), DynamoDB cancels the whole transaction and names those events in the
cancellation reasons; the caller drops them and commits the rest (invariant 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import ClientError

from budget_core.adapters.checks.counter_items import counter_item_key, counter_snapshot
from budget_core.adapters.checks.hold_items import settle_record
from budget_core.adapters.policies.dynamodb_tenant_config import config_version_check
from budget_core.adapters.shared.aws_errors import BUSY_CANCELLATION_REASONS, guarded
from budget_core.adapters.shared.dynamodb_codec import from_item, to_item
from budget_core.adapters.shared.dynamodb_update import ItemUpdate
from budget_core.adapters.shared.keys import hold_attribute, reserved_attribute, rollup_key, usage_event_key
from budget_core.adapters.usage.rollup_labels import (
    USED_ATTRIBUTE,
    LabelMemory,
    LabelPlan,
    known_from_item,
    plan_labels,
    room_of,
)
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import StoreUnavailable
from budget_core.domain.shared.periods import period_window
from budget_core.domain.tenants.config import StaleConfiguration
from budget_core.domain.usage.accounting import (
    Commit,
    CounterDelta,
    Granularity,
    PolicyCounterKey,
    PricedEvent,
    RollupKey,
)
from budget_core.domain.usage.ports import InactiveReservations, UncommittableCommit
from budget_core.domain.usage.quantities import COUNTED, COUNTED_NAMES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

T = TypeVar("T")
USAGE_ENTITY = "usage"
ROLLUP_ENTITY = "rollup"
# Labels moved under the writer (another writer admitted some): learnt, then planned again.
MAX_LABEL_ROUNDS = 4


class DynamoDBUsageLedger:
    def __init__(self, client: DynamoDBClient, table_name: str, retention: timedelta, clock: Clock) -> None:
        self._client = guarded(client)
        self._table = table_name
        self._retention = retention
        self._clock = clock
        self._labels = LabelMemory()

    def try_commit(self, commit: Commit) -> set[tuple[str, str]]:
        for _ in range(MAX_LABEL_ROUNDS):
            try:
                return self._try_commit(commit)
            except _LabelsMoved:
                continue
        raise StoreUnavailable("the labels of a rollup kept changing under this commit")

    def _try_commit(self, commit: Commit) -> set[tuple[str, str]]:
        now = self._clock.now()
        actions: list[TransactWriteItemTypeDef] = [self._put_event(p, now) for p in commit.events]
        rollups: list[tuple[int, tuple[str, str], LabelPlan]] = []
        for key, delta in commit.deltas.items():
            if isinstance(key, PolicyCounterKey):
                actions.append(self._update_policy_counter(key, delta, now))
            else:
                item_key, plan, action = self._update_rollup(key, delta)
                rollups.append((len(actions), item_key, plan))
                actions.append(action)
        checked = sorted(commit.config_versions)
        first_check = len(actions)
        actions.extend(
            config_version_check(self._table, tenant, commit.config_versions[tenant]) for tenant in checked
        )
        settling = sorted(commit.settlements)
        first_settlement = len(actions)
        settled_by = {
            (p.event.tenant_id, p.event.reservation_id): p.event.event_id
            for p in commit.events
            if p.event.reservation_id is not None
        }
        actions.extend(
            settle_record(self._table, commit.settlements[key], settled_by.get(key), now) for key in settling
        )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") != "TransactionCanceledException":
                raise
            reasons = [dict(r) for r in error.response.get("CancellationReasons", [])]
            moved = False
            for index, item_key, plan in rollups:
                reason = reasons[index] if index < len(reasons) else {}
                if plan.claimed and reason.get("Code") == "ConditionalCheckFailed":
                    item = cast(dict[str, Any], reason.get("Item") or {})
                    self._labels.remember(item_key, known_from_item(from_item(item)))
                    moved = True
            stale = _condition_failed(checked, reasons[first_check:])
            if stale:
                raise StaleConfiguration(stale) from error
            inactive = _condition_failed(settling, reasons[first_settlement:])
            applied = _condition_failed(
                [(p.event.tenant_id, p.event.event_id) for p in commit.events], reasons
            )
            if applied:
                return applied
            if inactive:
                raise InactiveReservations(inactive) from error
            if moved:
                raise _LabelsMoved from error
            codes = {str(r.get("Code")) for r in reasons}
            if codes & BUSY_CANCELLATION_REASONS:
                raise StoreUnavailable(",".join(sorted(codes - {"None"}))) from error
            failed = [
                (i, r.get("Code"), r.get("Message")) for i, r in enumerate(reasons) if r.get("Code") != "None"
            ]
            raise UncommittableCommit(f"usage transaction refused: {failed}"[:1000]) from error
        for _, item_key, plan in rollups:
            self._labels.committed(item_key, plan)
        return set()

    def _put_event(self, priced: PricedEvent, now: datetime) -> TransactWriteItemTypeDef:
        event = priced.event
        usage = event.usage
        item: dict[str, Any] = {
            **usage_event_key(event.tenant_id, event.event_id),
            "entity": USAGE_ENTITY,
            "tenant_id": event.tenant_id,
            "event_id": event.event_id,
            "ts": event.timestamp.isoformat(),
            "kind": event.kind.value,
            "provider": event.provider,
            "model": event.model,
            "operation": event.operation,
            "user_id": event.user_id,
            "team_id": event.team_id,
            "api_key_id": event.api_key_id,
            "project_id": event.project_id,
            "cost_usd": priced.quote.cost_usd,
            "price_version": priced.quote.price_version,
            "reservation_id": event.reservation_id,
            "expires_at": int((now + self._retention).timestamp()),
        }
        counts = {q.event_attribute: getattr(usage, q.name) for q in COUNTED}
        item.update({name: value for name, value in counts.items() if value})
        if event.metadata:
            item["metadata"] = dict(event.metadata)
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _update_policy_counter(
        self, key: PolicyCounterKey, delta: CounterDelta, now: datetime
    ) -> TransactWriteItemTypeDef:
        removed = [hold_attribute(r) for r in sorted(delta.settled_reservations)]
        released: dict[str, Any] = {
            reserved_attribute(at): -amount for at, amount in sorted(delta.released.items())
        }
        policy = delta.policy
        if policy is None:
            # only a settled reservation's hold comes off: the event is not under this policy
            return self._update(counter_item_key(key), {}, {**released, "rev": 1}, removed)
        assert delta.first_moment is not None
        window = period_window(policy.period, policy.timezone, delta.first_moment)
        snapshot = counter_snapshot(policy, key, window, now)
        totals = delta.totals
        added = {
            "spent_usd": totals.cost_usd,
            "events": totals.events,
            "unpriced_events": totals.unpriced_events,
            "rev": 1,
            **released,
        }
        return self._update(counter_item_key(key), snapshot, added, removed)

    def _update_rollup(
        self, key: RollupKey, delta: CounterDelta
    ) -> tuple[tuple[str, str], LabelPlan, TransactWriteItemTypeDef]:
        prefix = "D" if key.granularity is Granularity.DAY else "H"
        totals = delta.totals
        snapshot = {
            "entity": ROLLUP_ENTITY,
            "tenant_id": key.tenant_id,
            "dimension": key.dimension,
            "dim_value": key.value,
            "bucket": key.bucket,
        }
        added: dict[str, Decimal | int] = {
            "cost_usd": totals.cost_usd,
            "events": totals.events,
            "unpriced_events": totals.unpriced_events,
        }
        added.update({name: getattr(totals, name) for name in COUNTED_NAMES})
        item_key = rollup_key(key.tenant_id, key.dimension, key.value, prefix, key.bucket)
        marker = (item_key["pk"], item_key["sk"])
        plan = plan_labels(delta.breakdown, delta.kept, self._labels.get(marker), room_of(key.dimension))
        added.update(plan.added)
        if not plan.claimed:
            return marker, plan, self._update(item_key, snapshot, added, [])
        assert plan.used_limit is not None  # a plan that claims labels knows the room it used
        claimed = (plan.used_limit, list(plan.claimed))
        return marker, plan, self._update(item_key, snapshot, added, [], claimed)

    def _update(
        self,
        key: dict[str, str],
        snapshot: dict[str, Any],
        added: dict[str, Any],
        removed: list[str],
        claimed: tuple[int, list[str]] | None = None,
    ) -> TransactWriteItemTypeDef:
        update = ItemUpdate(self._table, key).set_all(snapshot).add_all(added).remove_all(removed)
        if claimed is None:
            return update.action()
        # labels are admitted only while the item has room, and only if no other writer admitted
        # them first
        used_limit, stems = claimed
        used = update.name(USED_ATTRIBUTE)
        update.require(f"attribute_not_exists({used}) OR {used} <= {update.value(used_limit)}")
        for stem in stems:
            update.require_absent(f"{stem}#c")
        return update.action(return_old_on_failure=True)


class _LabelsMoved(Exception):
    """Another writer admitted labels into a rollup item meanwhile: what it holds is learnt."""


def _condition_failed(keys: Sequence[T], reasons: Sequence[dict[str, Any]]) -> set[T]:
    """The keys whose action (in the same order as the reasons) failed its condition."""
    return {
        key
        for key, reason in zip(keys, reasons, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    }
