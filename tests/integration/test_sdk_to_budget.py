"""The producer SDK end to end: recorder -> Kinesis (shards throttling part of the writes) -> the
real UsageIngestFunction handler -> counters, each event once."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import boto3

from budget_sdk import BudgetRecorder, KinesisTransport
from tests.integration.conftest import ApiResponse
from tests.support.aws import REGION, USAGE_STREAM_NAME, AwsResources
from tests.support.flaky_client import FlakyClient, reject_every_other_record
from tests.support.ledger_reads import spent
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]


def test_sdk_events_reach_the_budgets_once_even_when_shards_throttle(
    api: Api, aws: AwsResources, usage_stream: UsageStreamDriver
) -> None:
    # Given a tenant-wide daily policy and a producer whose first two PutRecords are half throttled
    created = api(
        "create_policy",
        body={"name": "all", "scope": {"type": "tenant"}, "period": "total", "limit_usd": "100"},
    )
    policy_id = created.body["policy_id"]
    kinesis = FlakyClient(boto3.client("kinesis", region_name=REGION))
    kinesis.intercept_next("put_records", reject_every_other_record, reject_every_other_record)
    recorder = BudgetRecorder(
        KinesisTransport(USAGE_STREAM_NAME, kinesis),
        tenant_id="tenant-acme",
        max_batch_records=10,
        base_backoff_seconds=0.001,
        flush_at_exit=False,
    )
    # When the application records 25 calls of $0.04 and 5 image generations priced by the service
    for _ in range(25):
        recorder.record_usage(cost_usd="0.04", user_id="alice")
    for _ in range(5):
        recorder.record_image_usage(provider="openai", model="dall-e-3", images=1, user_id="bob")
    assert recorder.close(timeout=10)
    assert recorder.stats.retried > 0
    # Then the stream holds each event once, and ingestion counts 25 x 0.04 + 5 x 0.04
    records = usage_stream.read_new()
    assert len(records) == 30
    assert usage_stream.invoke(records) == {"batchItemFailures": []}
    assert spent(aws, "tenant-acme", policy_id, "total") == Decimal("1.20")
