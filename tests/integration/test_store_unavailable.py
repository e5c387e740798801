"""A throttled store is "try again", never a 500 and never a lost record.

DynamoDB throttling is injected the way botocore meets it: a ``before-call`` handler answers the
n-th DynamoDB call of the invocation with HTTP 400 ``ProvisionedThroughputExceededException``, and
botocore raises it as it would a real answer. Every route and every stream function is driven with
the throttle at each of its DynamoDB calls in turn: the first, the second, ... until the invocation
makes fewer calls than that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from budget_service.emulator.sample_events import api_event
from tests.integration.conftest import ApiResponse, invoke_api
from tests.support.aws import ALERT_DLQ_URL, AwsResources
from tests.support.table_stream import TableStreamDriver
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
TENANT = "tenant-acme"


class Throttle:
    """Throttles the ``at``-th DynamoDB call made while armed (counting from 1)."""

    def __init__(self) -> None:
        self.at: int | None = None
        self.calls = 0

    def arm(self, at: int) -> None:
        self.at, self.calls = at, 0

    def disarm(self) -> None:
        self.at = None

    def __call__(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.at is None:
            return None
        self.calls += 1
        if self.calls != self.at:
            return None
        response = AWSResponse("https://dynamodb.invalid", 400, {}, None)  # type: ignore[arg-type]
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeded"}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}


@pytest.fixture
def throttle(aws: AwsResources) -> Iterator[Throttle]:
    """Installed on the default session before the handlers create their clients (each test starts
    cold), so every DynamoDB client of every handler meets it."""
    injected = Throttle()
    session = boto3._get_default_session()
    session.events.register("before-call.dynamodb", injected)
    yield injected
    session.events.unregister("before-call.dynamodb", injected)


def _policy(suffix: str) -> dict[str, Any]:
    return {
        "name": f"cap {suffix}",
        "scope": {"type": "user", "id": f"user-{suffix}"},
        "period": "month",
        "limit_usd": "100",
    }


def _created(suffix: str) -> str:
    response = invoke_api(api_event("create_policy", body=_policy(suffix)))
    assert response.status == 201, response.body
    return str(response.body["policy_id"])


def _reserved(suffix: str) -> str:
    body = {"estimated_cost_usd": "1.00", "user_id": "user-base"}
    response = invoke_api(
        api_event("create_reservation", body=body, headers={"idempotency-key": f"k-{suffix}"})
    )
    assert response.status == 201, response.body
    return str(response.body["reservation_id"])


def _priced(suffix: str) -> str:
    """A private model's rates, set with no fault injected; returns the model's name."""
    model = f"gone-{suffix}"
    body = {"provider": "acme", "model": model, "input_per_mtok": "1"}
    assert invoke_api(api_event("put_price_override", body=body)).status == 201
    return model


# Each route: how to make a fresh valid request of it (the suffix keeps attempts apart).
ROUTES: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "create_policy": lambda s, _: api_event("create_policy", body=_policy(s)),
    "get_policy": lambda _, p: api_event("get_policy", policy_id=p),
    "list_policies": lambda _, __: api_event("list_policies"),
    "patch_policy": lambda _, p: api_event(
        "patch_policy", policy_id=p, body={"limit_usd": "120"}, drop_headers=("if-match",)
    ),
    "delete_policy": lambda s, _: api_event(
        "delete_policy", policy_id=_created(s), drop_headers=("if-match",)
    ),
    "configure_alert": lambda _, p: api_event(
        "configure_alert", policy_id=p, body={"thresholds": [50, 90]}, drop_headers=("if-match",)
    ),
    "policy_status": lambda _, p: api_event("policy_status", policy_id=p),
    "check_budget": lambda _, __: api_event(
        "check_budget", body={"estimated_cost_usd": "1.00", "user_id": "user-base"}
    ),
    "create_reservation": lambda s, _: api_event(
        "create_reservation",
        body={"estimated_cost_usd": "1.00", "user_id": "user-base"},
        headers={"idempotency-key": f"key-{s}"},
    ),
    "release_reservation": lambda s, _: api_event("release_reservation", reservation_id=_reserved(s)),
    "list_alerts": lambda _, __: api_event("list_alerts"),
    "usage_summary": lambda _, __: api_event("usage_summary", query={}),
    "usage_trend": lambda _, __: api_event("usage_trend", query={}),
    "list_price_overrides": lambda _, __: api_event("list_price_overrides"),
    "put_price_override": lambda s, _: api_event(
        "put_price_override", body={"provider": "acme", "model": f"m-{s}", "input_per_mtok": "1"}
    ),
    "delete_price_override": lambda s, _: api_event(
        "delete_price_override", query={"provider": "acme", "model": _priced(s)}
    ),
    "record_usage": lambda s, _: api_event(
        "record_usage",
        body={
            "events": [{"event_id": f"api-{s}", "kind": "custom", "cost_usd": "0.10", "user_id": "user-base"}]
        },
    ),
}


STREAM_ONLY_ROUTES = {"record_usage"}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_dynamodb_call_of_every_route_throttled_is_503_with_retry_after_never_500(
    route: str, api: Api, throttle: Throttle
) -> None:
    # Given a tenant with a policy (and its usage), and a route's request
    base = _created("base")
    outcomes: list[tuple[int, int, str | None]] = []
    for at in range(1, 40):
        request = ROUTES[route](f"{at}", base)
        # When its at-th DynamoDB call is throttled
        throttle.arm(at)
        response = invoke_api(request)
        throttle.disarm()
        if throttle.calls < at:  # it made fewer calls: every one of them has been throttled once
            assert response.status < 500, response.body
            break
        # Then the answer is "busy, retry" (or the route took the failure in its stride), never 500
        outcomes.append((at, response.status, response.headers.get("retry-after")))
        assert response.status < 500 or response.status == 503, (at, response.body)
        if response.status == 503:
            assert response.headers["retry-after"] == "1"
            assert response.body["error"]["code"] == "service_unavailable"
            assert "Exceeded" not in json.dumps(response.body)  # what was busy is for the logs
    else:
        raise AssertionError(f"{route} kept calling DynamoDB: {outcomes[-3:]}")
    # And the injection reached the route: at least one of its calls answered 503 or degraded
    if route in STREAM_ONLY_ROUTES:
        assert outcomes == []  # it forwards to Kinesis, whose refusals are answered per event
        return
    assert outcomes, f"{route} made no DynamoDB call"
    assert any(status == 503 for _, status, _ in outcomes) or route == "check_budget", outcomes


def test_a_check_whose_policies_cannot_be_read_is_503_not_500(api: Api, throttle: Throttle) -> None:
    # Given a policy, and DynamoDB throttling the check's first call (the tenant's policies)
    _created("base")
    throttle.arm(1)
    response = invoke_api(
        api_event("check_budget", body={"estimated_cost_usd": "1.00", "user_id": "user-base"})
    )
    throttle.disarm()
    # Then the caller is told to retry: a check cannot be answered without the policies in force
    assert response.status == 503, response.body
    assert response.headers["retry-after"] == "1"


def _usage(index: int) -> dict[str, Any]:
    return {
        "event_id": f"throttled-{index}",
        "tenant_id": TENANT,
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "kind": "custom",
        "cost_usd": "0.25",
        "user_id": "user-base",
    }


def test_the_ingest_function_throttled_at_any_call_retries_and_loses_nothing(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources, throttle: Throttle
) -> None:
    from tests.support.ledger_reads import spent

    # Given a policy and a batch of three valid events
    policy_id = _created("base")
    usage_stream.put([_usage(i) for i in range(3)])
    records = usage_stream.read_new()
    for at in range(1, 40):
        # When the batch's at-th DynamoDB call is throttled
        throttle.arm(at)
        result = usage_stream.invoke(records)
        throttle.disarm()
        if throttle.calls < at:
            break
        # Then the records not committed are handed back to the stream, and none is dead-lettered
        assert aws.dead_letters() == []
        if result["batchItemFailures"]:
            assert usage_stream.invoke(records) == {"batchItemFailures": []}
    # And after all of it the events counted exactly once
    month = datetime.now(UTC) - timedelta(minutes=1)
    assert spent(aws, TENANT, policy_id, month.strftime("%Y-%m")) == 3 * Decimal("0.25")


def test_the_alert_function_throttled_at_any_call_retries_and_dead_letters_nothing(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources, throttle: Throttle
) -> None:
    # Given a counter change that crosses 50 % of a $1 policy
    invoke_api(
        api_event(
            "create_policy",
            body={
                "name": "small",
                "scope": {"type": "user", "id": "user-x"},
                "period": "month",
                "limit_usd": "1",
            },
        )
    )
    assert usage_stream.deliver([{**_usage(9), "user_id": "user-x", "cost_usd": "0.60"}]) == {
        "batchItemFailures": []
    }
    table = TableStreamDriver(aws)
    records = table.read_new()
    assert records
    for at in range(1, 40):
        # When the alert function's at-th DynamoDB call is throttled
        throttle.arm(at)
        result = table.invoke(records)
        throttle.disarm()
        if throttle.calls < at:
            break
        # Then the record is retried, not dead-lettered
        assert aws.dead_letters(ALERT_DLQ_URL) == []
        if result["batchItemFailures"]:
            assert table.invoke(records) == {"batchItemFailures": []}
    # And the 50 % alert went out once
    assert [a["threshold_percent"] for a in aws.alerts()] == [50]
