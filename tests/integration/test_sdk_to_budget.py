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


def test_usage_v11_keys_and_tiers_from_the_sdk_are_priced_at_list_prices(
    api: Api, aws: AwsResources, usage_stream: UsageStreamDriver
) -> None:
    # Given a tenant-wide policy
    created = api(
        "create_policy",
        body={"name": "all", "scope": {"type": "tenant"}, "period": "total", "limit_usd": "100"},
    )
    policy_id = created.body["policy_id"]
    recorder = BudgetRecorder(
        KinesisTransport(USAGE_STREAM_NAME, aws.kinesis), tenant_id="tenant-acme", flush_at_exit=False
    )
    # When the application records a Sonnet 4.5 call with 1-hour cache writes ($0.099 at list
    # prices, anthropic.com/pricing read 2026-12-03) and a priority-tier gpt-5 call ($2.50 for 1M
    # input tokens, openai.com/api/pricing read 2026-12-03)
    recorder.record_llm_usage(
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=61_000,
        output_tokens=2_000,
        cache_read_tokens=50_000,
        cache_write_tokens=10_000,
        usage={"cache_write_1h_tokens": 6_000},
    )
    recorder.record_llm_usage(
        provider="openai", model="gpt-5", input_tokens=1_000_000, output_tokens=0, service_tier="priority"
    )
    assert recorder.close(timeout=10)
    # Then ingestion counts exactly their list prices
    assert usage_stream.invoke(usage_stream.read_new()) == {"batchItemFailures": []}
    assert aws.dead_letters() == []
    assert spent(aws, "tenant-acme", policy_id, "total") == Decimal("2.599")
