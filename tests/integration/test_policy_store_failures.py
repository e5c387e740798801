"""DynamoDB answers moto never gives (conflicting transactions, throttling), staged on a real moto table."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

import api_bootstrap
from budget_core.domain.shared.clock import SystemClock
from budget_core.platform.settings import ApiSettings, settings_of
from budget_service.emulator.sample_events import api_event
from tests.integration.conftest import ApiResponse, invoke_api
from tests.support.aws import REGION, TABLE_NAME, AwsResources
from tests.support.flaky_client import FlakyClient, cancelled

Api = Callable[..., ApiResponse]


@pytest.fixture
def flaky(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    client = FlakyClient(boto3.client("dynamodb", region_name=REGION))
    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), SystemClock(), dynamodb=client))
    return client


def _create(**body_changes: Any) -> ApiResponse:
    body = json.loads(api_event("create_policy")["body"])
    return invoke_api(api_event("create_policy", body={**body, **body_changes}))


def test_a_create_that_collides_in_a_transaction_conflict_still_names_the_holder(
    flaky: FlakyClient,
) -> None:
    # Given a policy holds the slot, and DynamoDB cancels the next create for a conflicting transaction
    holder = _create().body["policy_id"]
    flaky.fail_next("transact_write_items", lambda _: cancelled(["None", "TransactionConflict"]))
    # When the same slot is created again
    response = _create(name="second")
    # Then the retry reaches the slot's condition: 409 policy_conflict with the holder's id
    assert response.status == 409
    assert response.body["error"]["code"] == "policy_conflict"
    assert response.body["error"]["details"][0]["existing_policy_id"] == holder


def test_a_create_that_meets_one_transaction_conflict_commits_on_retry(flaky: FlakyClient) -> None:
    flaky.fail_next("transact_write_items", lambda _: cancelled(["TransactionConflict", "None"]))
    response = _create()
    assert response.status == 201
    assert flaky.calls["transact_write_items"] == 2


def test_a_store_that_keeps_throttling_is_503_with_retry_after(flaky: FlakyClient, aws: AwsResources) -> None:
    # Given DynamoDB throttles every try of the transaction
    flaky.fail_next("transact_write_items", *[lambda _: cancelled(["ThrottlingError", "None"])] * 10)
    # When a policy is created
    response = _create()
    # Then the client is told to retry, and nothing was stored
    assert response.status == 503
    assert response.headers["retry-after"] == "1"
    assert response.body["error"]["code"] == "service_unavailable"
    assert aws.dynamodb.scan(TableName=TABLE_NAME)["Items"] == []


def test_a_stale_if_match_is_412_even_when_the_write_first_meets_a_conflict(flaky: FlakyClient) -> None:
    policy_id = _create().body["policy_id"]
    flaky.fail_next("transact_write_items", lambda _: cancelled(["TransactionConflict"]))
    patched = invoke_api(api_event("patch_policy", policy_id=policy_id, headers={"if-match": '"1"'}))
    assert patched.status == 200
    assert patched.body["version"] == 2
