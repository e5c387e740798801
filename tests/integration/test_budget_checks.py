"""POST /v1/budget/check through the real handler: allow, deny, soft limits, paused policies,
fail modes, and the round trips a check costs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

import api_bootstrap
from budget_core.platform.settings import ApiSettings, settings_of
from tests.integration.conftest import ApiResponse
from tests.support.aws import REGION, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.flaky_client import FlakyClient, throttled
from tests.support.policies import create_policy
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _policy(api: Api, **fields: Any) -> str:
    return create_policy(api, **fields)


def _spend(usage_stream: UsageStreamDriver, amount: str, team: str = "research", **fields: Any) -> None:
    event = {
        "event_id": f"spend-{amount}-{team}-{len(fields)}",
        "tenant_id": "tenant-acme",
        "kind": "custom",
        "timestamp": (NOW - timedelta(seconds=5)).isoformat(),
        "cost_usd": amount,
        "team_id": team,
        **fields,
    }
    assert usage_stream.deliver([event]) == {"batchItemFailures": []}


def _check(api: Api, **body: Any) -> ApiResponse:
    request = {"team_id": "research", "user_id": "alice", "estimated_cost_usd": "1.00", **body}
    response = api("check_budget", body=request)
    assert response.status == 200, response.body
    return response


def test_a_tenant_without_policies_is_allowed_and_told_so(api: Api) -> None:
    body = _check(api).body
    assert (body["allowed"], body["decision"], body["policies"]) == (True, "allow", [])
    assert "no active policy" in body["message"]


def test_a_hard_limit_denies_the_call_that_would_pass_it(api: Api, usage_stream: UsageStreamDriver) -> None:
    # Given $9.25 spent of a $10 hard limit
    policy_id = _policy(api)
    _spend(usage_stream, "9.25")
    # When a call estimated at $0.75 asks, it fits exactly; at $0.76 it does not
    fits = _check(api, estimated_cost_usd="0.75").body
    assert (fits["allowed"], fits["decision"]) == (True, "allow")
    [entry] = fits["policies"]
    assert (entry["policy_id"], entry["spent_usd"], entry["remaining_usd"], entry["limit_usd"]) == (
        policy_id,
        "9.25",
        "0.75",
        "10.00",
    )
    assert entry["period_end"].startswith(f"{(NOW.replace(day=28) + timedelta(days=4)).strftime('%Y-%m')}-01")
    too_much = _check(api, estimated_cost_usd="0.76").body
    assert (too_much["allowed"], too_much["decision"], too_much["blocking_policy_ids"]) == (
        False,
        "deny",
        [policy_id],
    )


def test_a_soft_limit_allows_and_says_so(api: Api, usage_stream: UsageStreamDriver) -> None:
    _policy(api, enforcement="soft")
    _spend(usage_stream, "9.99")
    body = _check(api).body
    assert (body["allowed"], body["decision"], body["blocking_policy_ids"]) == (True, "allow_soft_limit", [])


def test_a_paused_policy_never_denies(api: Api, usage_stream: UsageStreamDriver) -> None:
    _policy(api, status="paused")
    _spend(usage_stream, "50")
    body = _check(api).body
    assert (body["decision"], body["policies"]) == ("allow", [])


def test_only_policies_the_call_falls_under_are_evaluated(api: Api) -> None:
    mine = _policy(api)
    _policy(api, scope={"type": "team", "id": "sales"})
    openai_only = _policy(api, scope={"type": "tenant"}, filters={"provider": "openai"})
    ids = {
        p["policy_id"] for p in _check(api, provider="anthropic", model="claude-sonnet-4-5").body["policies"]
    }
    assert ids == {mine}
    ids = {p["policy_id"] for p in _check(api, provider="openai", model="gpt-4o").body["policies"]}
    assert ids == {mine, openai_only}


def test_a_usage_estimate_is_priced_like_an_event(api: Api) -> None:
    _policy(api)
    body = _check(
        api,
        estimated_cost_usd=None,
        provider="openai",
        model="gpt-4o",
        usage={"input_tokens": 1_000_000, "output_tokens": 100_000},
    ).body
    assert body["estimated_cost_usd"] == "3.50"  # $2.50 + $1.00
    unknown = api(
        "check_budget", body={"provider": "openai", "model": "gpt-99", "usage": {"input_tokens": 5}}
    )
    assert unknown.status == 422
    assert unknown.body["error"]["details"][0]["field"] == "model"


# (the catalogue's priority rates apply from 2026-10-12)
@pytest.mark.parametrize("clock", [FixedClock(datetime(2026, 12, 3, 10, tzinfo=UTC))])
def test_a_usage_estimate_is_priced_at_its_service_tier_and_with_v11_units(
    api: Api, clock: FixedClock
) -> None:
    # Given a tenant policy; gpt-5 is $1.25 per MTok input, $2.50 at priority, and Sonnet 4.5's
    # 1-hour cache writes are $6 per MTok (openai.com/api/pricing, anthropic.com/pricing, read
    # 2026-12-03)
    _policy(api)
    # When calls are checked with usage estimates at a tier and with 1-hour cache writes
    priority = _check(
        api,
        estimated_cost_usd=None,
        provider="openai",
        model="gpt-5",
        usage={"input_tokens": 1_000_000},
        service_tier="priority",
    ).body
    cached = _check(
        api,
        estimated_cost_usd=None,
        provider="anthropic",
        model="claude-sonnet-4-5",
        usage={"input_tokens": 100_000, "cache_write_tokens": 100_000, "cache_write_1h_tokens": 100_000},
    ).body
    # Then each estimate is the price the call will be billed
    assert priority["estimated_cost_usd"] == "2.50"
    assert cached["estimated_cost_usd"] == "0.60"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team_id": ""}, "team_id"),
        ({"cost_center": "x"}, "cost_center"),
        ({"estimated_cost_usd": "-1"}, "estimated_cost_usd"),
        ({"estimated_cost_usd": "250000"}, "estimated_cost_usd"),
        ({"estimated_cost_usd": 1.5}, "estimated_cost_usd"),
        ({"estimated_cost_usd": None}, None),
        ({"usage": {"input_tokens": 10}}, None),
        ({"kind": "video"}, "kind"),
    ],
)
def test_a_bad_check_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str | None) -> None:
    request = {"team_id": "research", "estimated_cost_usd": "1.00", **body}
    request = {k: v for k, v in request.items() if v is not None}
    response = api("check_budget", body=request)
    assert response.status == 422
    if field is not None:
        assert field in {d["field"] for d in response.body["error"]["details"]}


def test_viewers_cannot_check(api: Api) -> None:
    assert api("check_budget", roles="[viewer]", body={"estimated_cost_usd": "1"}).status == 403


@pytest.fixture
def counting_dynamodb(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    client = FlakyClient(boto3.client("dynamodb", region_name=REGION))
    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), FixedClock(NOW), dynamodb=client))
    return client


def test_a_warm_check_costs_one_round_trip_and_a_cold_one_two(
    api: Api, counting_dynamodb: FlakyClient
) -> None:
    _policy(api)
    _policy(api, scope={"type": "user", "id": "alice"}, period="day")
    api_bootstrap.install(
        api_bootstrap.ApiRoot(settings_of(ApiSettings), FixedClock(NOW), dynamodb=counting_dynamodb)
    )
    counting_dynamodb.calls.clear()
    _check(api)
    assert counting_dynamodb.calls == {"query": 1, "batch_get_item": 1}
    counting_dynamodb.calls.clear()
    _check(api)
    assert counting_dynamodb.calls == {"batch_get_item": 1}


@pytest.mark.parametrize(
    ("fields", "decision"),
    [
        ({}, "deny"),
        ({"enforcement": "soft"}, "allow"),
        ({"fail_mode": "open"}, "allow"),
        ({"enforcement": "soft", "fail_mode": "closed"}, "deny"),
    ],
)
def test_when_spend_cannot_be_read_each_policys_fail_mode_decides(
    api: Api, counting_dynamodb: FlakyClient, fields: dict[str, Any], decision: str
) -> None:
    _policy(api, **fields)
    counting_dynamodb.fail_next("batch_get_item", lambda _: throttled("BatchGetItem"))
    body = _check(api).body
    assert (body["decision"], body["degraded"]) == (decision, True)
    assert body["policies"][0]["spent_usd"] is None


def test_a_policy_change_reaches_checks_at_once_in_the_same_instance(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    policy_id = _policy(api)
    _spend(usage_stream, "9.50")
    assert _check(api).body["decision"] == "deny"
    assert (
        api("patch_policy", policy_id=policy_id, body={"limit_usd": "20"}, drop_headers=("if-match",)).status
        == 200
    )
    assert _check(api).body["decision"] == "allow"
    assert Decimal(_check(api).body["policies"][0]["remaining_usd"]) == Decimal("10.50")
