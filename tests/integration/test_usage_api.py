"""POST /v1/usage: events over HTTP join the Kinesis stream with the caller's tenant, then count."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import api_bootstrap
from budget_core.platform.settings import ApiSettings, settings_of
from budget_service.emulator.kinesis_events import read_all
from tests.integration.conftest import ApiResponse
from tests.support.aws import USAGE_STREAM_NAME, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.ledger_reads import usage_record
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _events(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"http-{i}",
            "timestamp": (NOW - timedelta(seconds=i)).isoformat(),
            "kind": "custom",
            "cost_usd": "0.10",
            **fields,
        }
        for i in range(count)
    ]


def test_events_posted_by_a_service_are_counted_for_the_tokens_tenant(
    api: Api, aws: AwsResources, usage_stream: UsageStreamDriver
) -> None:
    # Given a service token of tenant-acme posting events, one of which claims another tenant
    events = _events(3)
    events[1]["tenant_id"] = "tenant-globex"
    response = api("record_usage", body={"events": events})
    # Then all are accepted
    assert response.status == 202
    assert response.body == {"accepted": 3, "failed": []}
    # And on the stream every record belongs to tenant-acme, partitioned by it
    records = read_all(aws.kinesis, USAGE_STREAM_NAME)
    assert {r["PartitionKey"] for r in records} == {"tenant-acme"}
    assert {json.loads(r["Data"])["tenant_id"] for r in records} == {"tenant-acme"}
    # And once ingested they count for tenant-acme only
    assert usage_stream.invoke(usage_stream.read_new()) == {"batchItemFailures": []}
    assert Decimal(usage_record(aws, "tenant-acme", "http-1")["cost_usd"]) == Decimal("0.10")
    assert usage_record(aws, "tenant-globex", "http-1") is None


def test_the_sample_event_is_accepted(api: Api, aws: AwsResources) -> None:
    # The sample's fixed timestamps are re-stamped into the accepted window
    from budget_service.emulator.sample_events import api_event

    body = json.loads(api_event("record_usage")["body"])
    for event in body["events"]:
        event["timestamp"] = NOW.isoformat()
    response = api("record_usage", body=body)
    assert response.status == 202
    assert response.body["accepted"] == 2


def test_invalid_events_are_answered_one_by_one_and_the_rest_go_through(api: Api, aws: AwsResources) -> None:
    events = _events(4)
    events[1]["kind"] = "video"
    events[3]["timestamp"] = (NOW + timedelta(hours=2)).isoformat()
    response = api("record_usage", body={"events": events})
    assert response.status == 202
    assert response.body["accepted"] == 2
    assert [(f["index"], f["event_id"], f["code"]) for f in response.body["failed"]] == [
        (1, "http-1", "invalid_event"),
        (3, "http-3", "invalid_event"),
    ]
    assert "kind" in response.body["failed"][0]["message"]
    assert "future" in response.body["failed"][1]["message"]
    assert len(read_all(aws.kinesis, USAGE_STREAM_NAME)) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"events": []}, 422),
        ({"events": _events(501)}, 422),
        ({"events": "all of them"}, 422),
        ({}, 422),
        ({"events": _events(1), "extra": 1}, 422),
    ],
)
def test_a_malformed_batch_is_refused_whole(
    api: Api, aws: AwsResources, body: dict[str, Any], status: int
) -> None:
    response = api("record_usage", body=body)
    assert response.status == status
    assert response.body["error"]["code"] == "validation_failed"
    assert read_all(aws.kinesis, USAGE_STREAM_NAME) == []


@pytest.mark.parametrize("roles", ["[viewer]", None])
def test_only_service_or_admin_tokens_may_record_usage(api: Api, aws: AwsResources, roles: Any) -> None:
    assert api("record_usage", roles=roles, body={"events": _events(1)}).status == 403
    assert read_all(aws.kinesis, USAGE_STREAM_NAME) == []


def test_records_the_stream_rejects_are_retried_until_they_are_in(
    api: Api, aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from tests.support.aws import REGION
    from tests.support.flaky_client import FlakyClient, reject_every_other_record

    # Given a stream whose shards throttle half of the first PutRecords
    kinesis = FlakyClient(boto3.client("kinesis", region_name=REGION))
    kinesis.intercept_next("put_records", reject_every_other_record)
    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), FixedClock(NOW), kinesis=kinesis))
    # When 6 events are posted
    response = api("record_usage", body={"events": _events(6)})
    # Then all 6 are accepted, each on the stream once
    assert response.body == {"accepted": 6, "failed": []}
    assert kinesis.calls["put_records"] == 2
    ids = sorted(json.loads(r["Data"])["event_id"] for r in read_all(aws.kinesis, USAGE_STREAM_NAME))
    assert ids == sorted(f"http-{i}" for i in range(6))


def test_records_the_stream_keeps_rejecting_are_reported_as_failed(
    api: Api, aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from tests.support.aws import REGION
    from tests.support.flaky_client import FlakyClient, reject_all_records, reject_every_other_record

    kinesis = FlakyClient(boto3.client("kinesis", region_name=REGION))
    kinesis.intercept_next(
        "put_records", reject_every_other_record, reject_every_other_record, reject_all_records
    )
    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), FixedClock(NOW), kinesis=kinesis))
    response = api("record_usage", body={"events": _events(4)})
    assert response.status == 202
    # 4 sent: 2 in; of the 2 retried, 1 in; of the last, none after the third try
    assert response.body["accepted"] == 3
    assert [f["code"] for f in response.body["failed"]] == ["stream_unavailable"]


def test_the_openapi_document_types_each_usage_event(api: Api) -> None:
    # Given the API's OpenAPI document
    document = api("get_openapi").body
    body = document["paths"]["/v1/usage"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    # Then each event of the batch is described field by field, v1.1 keys included, and tenant_id
    # is not asked for (it is always the token's)
    event = batch["properties"]["events"]["items"]
    assert {"event_id", "kind", "usage", "service_tier", "provider_usage", "api_flavor"} <= set(
        event["properties"]
    )
    assert "cache_write_1h_tokens" in event["properties"]["usage"]["properties"]
    assert set(event["required"]) == {"event_id", "timestamp", "kind"}
    assert "$ref" not in json.dumps(event)
