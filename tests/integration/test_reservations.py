"""Reservations: all or nothing, never past a hard limit under concurrency, released and expired
holds stop counting, retries with the same Idempotency-Key get the same reservation."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import api_bootstrap
from budget_core.domain.checks.models import ReservationRequest
from budget_core.domain.shared.auth import Principal, Role
from budget_core.domain.shared.errors import BudgetExceeded
from budget_core.platform.settings import ApiSettings, settings_of
from tests.integration.conftest import ApiResponse
from tests.support.aws import TABLE_NAME, AwsResources
from tests.support.clocks import FixedClock, ShiftedClock
from tests.support.ledger_reads import policy_counter
from tests.support.policies import create_policy
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
SERVICE = Principal("tenant-acme", frozenset({Role.SERVICE}))


def _policy(api: Api, **fields: Any) -> str:
    return create_policy(api, **{"period": "total", "limit_usd": "50", **fields})


def _reserve(api: Api, amount: str = "1.00", key: str | None = None, **fields: Any) -> ApiResponse:
    headers = {"idempotency-key": key} if key else {}
    body = {"team_id": "research", "estimated_cost_usd": amount, "ttl_seconds": 300, **fields}
    return api(
        "create_reservation", body=body, headers=headers, drop_headers=() if key else ("idempotency-key",)
    )


def _settling(event_id: str, cost: str, reservation_id: str, **scope: str) -> dict[str, Any]:
    """A usage event that settles ``reservation_id``."""
    return {
        "event_id": event_id,
        "tenant_id": "tenant-acme",
        "kind": "custom",
        "cost_usd": cost,
        "timestamp": datetime.now(UTC).isoformat(),
        "reservation_id": reservation_id,
        **scope,
    }


def _status(api: Api, policy_id: str) -> dict[str, Any]:
    response = api("policy_status", policy_id=policy_id)
    assert response.status == 200, response.body
    return dict(response.body)


def test_two_hundred_concurrent_dollars_against_fifty_give_exactly_fifty_holds(
    api: Api, aws: AwsResources
) -> None:
    # Given a $50 hard limit, and the reservation service the handler runs (one per Lambda instance)
    clock = ShiftedClock()
    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), clock))
    policy_id = _policy(api)
    api("check_budget", body={"team_id": "research", "estimated_cost_usd": "0"})  # cold start
    guard = api_bootstrap.root().budget_guard
    request = ReservationRequest.model_validate(
        {"team_id": "research", "estimated_cost_usd": "1", "ttl_seconds": 3600}
    )
    barrier = threading.Barrier(200)
    held: list[str] = []
    refused: list[str] = []
    observed: list[Decimal] = []

    def reserve() -> None:
        barrier.wait()
        try:
            held.append(guard.reserve(SERVICE, request, None).reservation_id)
        except BudgetExceeded:
            refused.append("409")
        counter = policy_counter(aws, "tenant-acme", policy_id, "total") or {}
        observed.append(sum((Decimal(v) for k, v in counter.items() if k.startswith("rsv#")), Decimal(0)))

    # When 200 reservations of $1 race
    threads = [threading.Thread(target=reserve) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly 50 hold, 150 are refused, and the holds never passed $50 at any moment seen
    assert (len(held), len(refused)) == (50, 150)
    assert max(observed) <= Decimal(50)
    assert _status(api, policy_id)["reserved_usd"] == "50.00"

    # When 25 are released through the API and the other 25 expire
    for reservation_id in held[:25]:
        assert api("release_reservation", reservation_id=reservation_id).status == 204
    assert _status(api, policy_id)["reserved_usd"] == "25.00"
    # (a hold expires at the whole minute after its ttl: holds are summed per minute)
    clock.shift = timedelta(seconds=3661)
    # Then nothing is reserved, without any sweeper having run
    assert _status(api, policy_id)["reserved_usd"] == "0.00"
    # And the room is there again for a new reservation
    request_now = guard.reserve(SERVICE, request, None)
    assert request_now.policy_ids == [policy_id]


def test_a_reservation_holds_on_every_hard_policy_or_on_none(api: Api) -> None:
    team = _policy(api, limit_usd="10")
    user = _policy(api, scope={"type": "user", "id": "alice"}, limit_usd="3")
    soft = _policy(api, scope={"type": "tenant"}, enforcement="soft", limit_usd="1")
    held = _reserve(api, "2.50", user_id="alice")
    assert held.status == 201
    assert sorted(held.body["policy_ids"]) == sorted([team, user])  # the soft policy takes no hold
    refused = _reserve(api, "1.00", user_id="alice")
    assert refused.status == 409
    assert refused.body["error"]["code"] == "budget_exceeded"
    assert [d["policy_id"] for d in refused.body["error"]["details"]] == [user]
    # nothing was held on the team policy by the refused request
    assert _status(api, team)["reserved_usd"] == "2.50"
    assert _status(api, soft)["reserved_usd"] == "0.00"


def test_a_retry_with_the_same_idempotency_key_gets_the_same_reservation(api: Api) -> None:
    policy_id = _policy(api)
    first = _reserve(api, "5.00", key="req-1")
    again = _reserve(api, "5.00", key="req-1")
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers.get("idempotent-replayed") == "true"
    assert _status(api, policy_id)["reserved_usd"] == "5.00"
    other = _reserve(api, "6.00", key="req-1")
    assert other.status == 422
    assert other.body["error"]["code"] == "idempotency_key_reused"


def test_releasing_twice_changes_nothing_and_unknown_ids_are_404(api: Api) -> None:
    policy_id = _policy(api)
    reservation_id = _reserve(api, "5.00").body["reservation_id"]
    assert api("release_reservation", reservation_id=reservation_id).status == 204
    assert api("release_reservation", reservation_id=reservation_id).status == 204
    assert _status(api, policy_id)["reserved_usd"] == "0.00"
    assert api("release_reservation", reservation_id="res_" + "0" * 28).status == 404
    foreign = api("release_reservation", reservation_id=reservation_id, tenant="tenant-globex")
    assert foreign.status == 404


def test_the_usage_event_of_a_reservation_settles_it(api: Api, usage_stream: UsageStreamDriver) -> None:
    policy_id = _policy(api)
    reservation_id = _reserve(api, "5.00").body["reservation_id"]
    event = _settling("settle-1", "3.20", reservation_id, team_id="research")
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}
    status = _status(api, policy_id)
    assert (status["spent_usd"], status["reserved_usd"], status["remaining_usd"]) == ("3.20", "0.00", "46.80")
    # releasing after settlement changes nothing either
    assert api("release_reservation", reservation_id=reservation_id).status == 204
    assert _status(api, policy_id)["spent_usd"] == "3.20"


@pytest.mark.parametrize("ttl", [0, 3601, "60"])
def test_a_hold_lives_between_one_second_and_an_hour(api: Api, ttl: Any) -> None:
    _policy(api)
    response = _reserve(api, ttl_seconds=ttl)
    assert response.status == 422
    assert "ttl_seconds" in {d["field"] for d in response.body["error"]["details"]}


def test_settling_takes_the_hold_off_every_policy_it_held_once(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    # Given a hold on a team policy and a tenant policy
    team = _policy(api)
    tenant = _policy(api, scope={"type": "tenant"}, limit_usd="100")
    reservation_id = _reserve(api, "5.00").body["reservation_id"]
    assert (_status(api, team)["reserved_usd"], _status(api, tenant)["reserved_usd"]) == ("5.00", "5.00")
    # When its usage event arrives without the team (it falls under the tenant policy only), twice
    event = _settling("settle-elsewhere", "2.00", reservation_id)
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}
    assert usage_stream.deliver([{**event, "event_id": "settle-elsewhere-again"}]) == {
        "batchItemFailures": []
    }
    # Then the hold is off both counters, taken off once, and the spend counts where it falls
    team_status, tenant_status = _status(api, team), _status(api, tenant)
    assert (team_status["reserved_usd"], team_status["spent_usd"]) == ("0.00", "0.00")
    assert (tenant_status["reserved_usd"], tenant_status["spent_usd"]) == ("0.00", "4.00")
    # And releasing it now changes nothing
    assert api("release_reservation", reservation_id=reservation_id).status == 204
    assert _status(api, tenant)["reserved_usd"] == "0.00"


def test_a_released_reservation_settled_later_takes_nothing_off_twice(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    policy_id = _policy(api)
    first = _reserve(api, "5.00").body["reservation_id"]
    _reserve(api, "7.00")  # another live hold in the same minute's sum
    assert api("release_reservation", reservation_id=first).status == 204
    event = _settling("late-settle", "1.00", first, team_id="research")
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}
    status = _status(api, policy_id)
    assert (status["reserved_usd"], status["spent_usd"]) == ("7.00", "1.00")


def test_ten_thousand_live_holds_keep_the_counter_item_small(api: Api, aws: AwsResources) -> None:
    """Moto does not enforce DynamoDB's 400 KB item limit: the item's size is measured here."""
    from bench.dynamodb_item_size import item_size
    from budget_core.adapters.checks.dynamodb_budget_store import (
        DynamoDBCounterReader,
        DynamoDBReservationStore,
    )
    from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
    from budget_core.domain.checks.models import Reservation
    from budget_core.domain.checks.spend import CounterState, counter_key, hold_expiry

    # Given a policy, and 10,000 holds placed on its counter over an hour, each with the store's own
    # conditional transaction (the counter's rev tracked here instead of read back each time)
    policy_id = _policy(api, limit_usd="100000")
    config = DynamoDBTenantConfigSource(aws.dynamodb, TABLE_NAME).load("tenant-acme")
    [policy] = config.policies
    store = DynamoDBReservationStore(aws.dynamodb, TABLE_NAME)
    # (a fraction of a second past a whole minute: a hold must never end before its time)
    start = datetime.now(UTC).replace(second=0, microsecond=400_000)
    holds = int(os.environ.get("HOLDS_ON_ONE_POLICY", "10000"))
    key, _ = counter_key(policy, start)
    rev = DynamoDBCounterReader(aws.dynamodb, TABLE_NAME).read([key])[key].rev
    for index in range(holds):
        now = start + timedelta(seconds=index * 3600 / holds)
        reservation = Reservation(
            f"res_{index:028x}",
            "tenant-acme",
            Decimal("0.01"),
            now,
            hold_expiry(now + timedelta(hours=1)),
            [key],
            "h",
        )
        store.place(reservation, [(policy, key, CounterState(rev=rev))], now, config.version)
        rev = 1 if rev is None else rev + 1
    # Then every live hold counts, and the item holds one sum per minute, not one entry per hold
    api_bootstrap.install(
        api_bootstrap.ApiRoot(settings_of(ApiSettings), FixedClock(start + timedelta(hours=1)))
    )
    assert Decimal(_status(api, policy_id)["reserved_usd"]) == Decimal("0.01") * holds
    raw = aws.dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"T#tenant-acme#P#{policy_id}"}, "sk": {"S": "C#total"}},
    )["Item"]
    assert sum(1 for name in raw if name.startswith("rsv#")) <= 62
    assert item_size(raw) < 8_000
