"""POST /v1/reservations/{id}/settle: the call's actual usage counts and its hold comes off in one
transaction, exactly once with the same event arriving on the usage stream, so the very next check
sees real spend instead of the estimate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import ApiResponse
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.policies import create_policy
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
NOW = TEST_MOMENT
GPT_4O = {"kind": "llm", "provider": "openai", "model": "gpt-4o", "team_id": "research"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _reserve(api: Api, amount: str) -> str:
    body = {"team_id": "research", "estimated_cost_usd": amount, "ttl_seconds": 300}
    response = api("create_reservation", body=body, drop_headers=("idempotency-key",))
    assert response.status == 201, response.body
    return str(response.body["reservation_id"])


def _settle(api: Api, reservation: str, **event: Any) -> ApiResponse:
    return api("settle_reservation", reservation_id=reservation, body=event)


def _status(api: Api, policy_id: str) -> tuple[str, str]:
    response = api("policy_status", policy_id=policy_id)
    assert response.status == 200, response.body
    return response.body["spent_usd"], response.body["reserved_usd"]


def test_a_settle_counts_the_actual_cost_and_frees_the_hold_at_once(api: Api) -> None:
    # Given a $10 hard budget, and a $6 hold for a call about to be made
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "6.00")
    assert (
        api("check_budget", body={"team_id": "research", "estimated_cost_usd": "5"}).body["allowed"] is False
    )
    # When the call's usage settles it: 1M input + 100k output tokens of gpt-4o ($2.50 + $1.00,
    # openai.com/api/pricing read 2026-12-03)
    settled = _settle(
        api, reservation_id, **GPT_4O, usage={"input_tokens": 1_000_000, "output_tokens": 100_000}
    )
    # Then it answers the cost, the spend is the actual cost with no hold left, and the next $5
    # check is allowed straight away (not ~2 s later, when the stream would have settled it)
    assert settled.status == 200, settled.body
    assert settled.body == {
        "reservation_id": reservation_id,
        "event_id": f"settle-{reservation_id}",
        "cost_usd": "3.50",
        "unpriced": False,
    }
    assert _status(api, policy_id) == ("3.50", "0.00")
    assert (
        api("check_budget", body={"team_id": "research", "estimated_cost_usd": "5"}).body["allowed"] is True
    )


def test_a_second_settle_answers_the_first_and_counts_nothing_more(api: Api) -> None:
    # Given a settled reservation
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "2.00")
    first = _settle(api, reservation_id, **GPT_4O, cost_usd="1.25")
    # When it is settled again, the same way and with another event altogether
    again = _settle(api, reservation_id, **GPT_4O, cost_usd="1.25")
    other = _settle(api, reservation_id, **GPT_4O, event_id="a-different-event", cost_usd="9.00")
    # Then both answer the first result, and it counted once
    assert first.status == again.status == other.status == 200
    assert again.body == other.body == first.body
    assert _status(api, policy_id) == ("1.25", "0.00")


def test_the_same_event_on_the_stream_after_a_settle_is_a_duplicate(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    # Given a reservation settled over HTTP with the producer's own event id
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "2.00")
    assert _settle(api, reservation_id, **GPT_4O, event_id="call-1", cost_usd="0.80").status == 200
    # When the producer's recorder also sends that event on the stream
    event = {
        **GPT_4O,
        "event_id": "call-1",
        "tenant_id": "tenant-acme",
        "timestamp": NOW.isoformat(),
        "cost_usd": "0.80",
        "reservation_id": reservation_id,
    }
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}
    # Then it counted once
    assert _status(api, policy_id) == ("0.80", "0.00")


def test_a_settle_after_the_stream_counted_the_event_answers_that_count(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    # Given the stream counted the settling event first
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "2.00")
    event = {
        **GPT_4O,
        "event_id": "call-2",
        "tenant_id": "tenant-acme",
        "timestamp": NOW.isoformat(),
        "cost_usd": "0.30",
        "reservation_id": reservation_id,
    }
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}
    # When the same event is settled over HTTP (a client retrying after a lost answer)
    settled = _settle(api, reservation_id, **GPT_4O, event_id="call-2", cost_usd="0.30")
    # Then it answers what the stream counted, and nothing counted twice
    assert (settled.status, settled.body["cost_usd"], settled.body["event_id"]) == (200, "0.30", "call-2")
    assert _status(api, policy_id) == ("0.30", "0.00")


def test_a_released_reservation_still_counts_the_usage_it_settles(api: Api) -> None:
    # Given a hold released (a client that gave up) before the call's usage came back
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "2.00")
    assert api("release_reservation", reservation_id=reservation_id).status == 204
    # When the usage settles it after all, then the money counts once and no hold comes off twice
    assert _settle(api, reservation_id, **GPT_4O, cost_usd="0.40").status == 200
    assert _status(api, policy_id) == ("0.40", "0.00")


def test_an_unpriced_settle_says_so_and_is_counted_as_unpriced(api: Api) -> None:
    create_policy(api)
    reservation_id = _reserve(api, "1.00")
    settled = _settle(
        api, reservation_id, kind="llm", provider="acme", model="house-9", usage={"input_tokens": 10}
    )
    assert (settled.status, settled.body["cost_usd"], settled.body["unpriced"]) == (200, None, True)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**GPT_4O, "cost_usd": "1", "tenant_id": "tenant-globex"}, "tenant_id"),
        ({**GPT_4O, "cost_usd": "1", "reservation_id": "res_" + "0" * 28}, "reservation_id"),
        ({**GPT_4O, "cost_usd": "-1"}, "cost_usd"),
        ({**GPT_4O, "usage": {"input_tokens": 1, "no_such_tokens": 2}}, "usage.no_such_tokens"),
    ],
)
def test_a_bad_settle_is_422_naming_the_field_and_leaves_the_hold(
    api: Api, event: dict[str, Any], field: str
) -> None:
    policy_id = create_policy(api)
    reservation_id = _reserve(api, "1.00")
    response = _settle(api, reservation_id, **event)
    assert response.status == 422, response.body
    assert any(str(d.get("field", "")).startswith(field) for d in response.body["error"]["details"]), (
        response.body
    )
    assert _status(api, policy_id) == ("0.00", "1.00")


def test_another_tenants_or_an_unknown_reservation_is_404(api: Api) -> None:
    create_policy(api)
    reservation_id = _reserve(api, "1.00")
    assert (
        api(
            "settle_reservation",
            reservation_id=reservation_id,
            tenant="tenant-globex",
            body={**GPT_4O, "cost_usd": "1"},
        ).status
        == 404
    )
    assert _settle(api, "res_" + "f" * 28, **GPT_4O, cost_usd="1").status == 404
    assert _settle(api, "not-a-reservation", **GPT_4O, cost_usd="1").status == 404


def test_only_a_service_or_an_admin_settles(api: Api) -> None:
    create_policy(api)
    reservation_id = _reserve(api, "1.00")
    response = api(
        "settle_reservation",
        reservation_id=reservation_id,
        roles="[viewer]",
        body={**GPT_4O, "cost_usd": "1"},
    )
    assert response.status == 403
