"""UsageIngestFunction through its real handler: records put on moto's Kinesis stream, read back
with real sequence numbers, counted in moto's DynamoDB table made from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from budget_core.adapters.shared.dynamodb_codec import to_item
from budget_core.adapters.shared.keys import price_override_key
from tests.integration.conftest import ApiResponse
from tests.support.aws import TABLE_NAME, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.ledger_reads import daily_rollup, policy_counter, quarter_rollup, spent, usage_record
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


TENANT = "tenant-acme"


def _policy(api: Api, **fields: Any) -> str:
    body = {"name": "p", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "1000", **fields}
    response = api("create_policy", body=body)
    assert response.status == 201, response.body
    return str(response.body["policy_id"])


def _event(event_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "event_id": event_id,
        "tenant_id": TENANT,
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "kind": "custom",
        "cost_usd": "1.00",
        "user_id": "alice",
        "team_id": "research",
    }
    return {**base, **fields}


def _month(moment: datetime = NOW) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def test_priced_events_move_every_policy_they_fall_under_and_the_rollups(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    # Given a tenant-wide policy, a team policy and a policy for another team
    tenant_policy = _policy(api)
    team_policy = _policy(api, scope={"type": "team", "id": "research"})
    other_team = _policy(api, scope={"type": "team", "id": "sales"})
    openai_only = _policy(api, filters={"provider": "openai"})
    # When an OpenAI call and an Anthropic call with cache reads arrive
    gpt = _event(
        "e-gpt",
        kind="llm",
        provider="openai",
        model="gpt-4o",
        operation="chat.completions",
        usage={"input_tokens": 1000, "output_tokens": 500},
    )
    del gpt["cost_usd"]
    claude = _event(
        "e-claude",
        kind="llm",
        provider="anthropic",
        model="claude-sonnet-4-5",
        operation="messages",
        usage={"input_tokens": 2000, "output_tokens": 100, "cache_read_tokens": 1500},
    )
    del claude["cost_usd"]
    result = usage_stream.deliver([gpt, claude])
    # Then nothing is retried, and each policy moved by the exact Decimal price of what it covers
    assert result == {"batchItemFailures": []}
    gpt_cost = Decimal(1000) * Decimal("2.5") / 1_000_000 + Decimal(500) * Decimal(10) / 1_000_000
    claude_cost = (Decimal(500) * 3 + Decimal(1500) * Decimal("0.3") + Decimal(100) * 15) / 1_000_000
    month = _month(NOW - timedelta(minutes=1))
    assert spent(aws, TENANT, tenant_policy, month) == gpt_cost + claude_cost
    assert spent(aws, TENANT, team_policy, month) == gpt_cost + claude_cost
    assert spent(aws, TENANT, openai_only, month) == gpt_cost
    assert spent(aws, TENANT, other_team, month) == 0
    # And the day's rollup holds the totals and the breakdowns
    day = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d")
    rollup = daily_rollup(aws, TENANT, day)
    assert Decimal(rollup["cost_usd"]) == gpt_cost + claude_cost
    assert (rollup["events"], rollup["input_tokens"], rollup["cache_read_tokens"]) == (2, 3000, 1500)
    assert Decimal(rollup["j#openai|gpt-4o|llm|chat.completions#c"]) == gpt_cost
    assert Decimal(rollup["j#anthropic|claude-sonnet-4-5|llm|messages#c"]) == claude_cost
    assert rollup["j#anthropic|claude-sonnet-4-5|llm|messages#n"] == 1
    assert Decimal(daily_rollup(aws, TENANT, day, "user_id", "alice")["cost_usd"]) == gpt_cost + claude_cost
    moment = NOW - timedelta(minutes=1)
    quarter = moment.strftime("%Y-%m-%dT%H:") + f"{moment.minute - moment.minute % 15:02d}"
    assert quarter_rollup(aws, TENANT, quarter)["events"] == 2
    # And each event record says which price data priced it
    assert usage_record(aws, TENANT, "e-gpt")["price_version"].startswith("genai-prices/")


def test_the_counter_carries_what_the_alert_function_needs(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    policy_id = _policy(
        api, name="Acme monthly", alert_thresholds=[25, 75], forecast_alerts=True, timezone="Asia/Tokyo"
    )
    usage_stream.deliver([_event("e1", cost_usd="12.5")])
    moment = (NOW - timedelta(minutes=1)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    counter = policy_counter(aws, TENANT, policy_id, _month(moment))
    assert counter is not None
    assert (counter["policy_name"], counter["thresholds"], counter["forecast_alerts"]) == (
        "Acme monthly",
        [25, 75],
        True,
    )
    assert Decimal(counter["limit_usd"]) == Decimal(1000)
    assert counter["period_start"].endswith("+09:00")
    assert counter["entity"] == "counter"


def test_duplicates_inside_a_batch_and_redelivered_batches_count_once(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    policy_id = _policy(api)
    # Given the producer sent e1 twice, and Lambda delivers the batch twice
    records_batch = [
        _event("e1", cost_usd="2.00"),
        _event("e1", cost_usd="2.00"),
        _event("e2", cost_usd="3.00"),
    ]
    usage_stream.put(records_batch)
    records = usage_stream.read_new()
    assert usage_stream.invoke(records) == {"batchItemFailures": []}
    assert usage_stream.invoke(records) == {"batchItemFailures": []}
    # Then e1 and e2 count once each
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == Decimal("5.00")
    day = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d")
    assert daily_rollup(aws, TENANT, day)["events"] == 2


def test_the_same_event_id_in_two_tenants_is_two_events(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    usage_stream.deliver(
        [_event("shared", cost_usd="1"), _event("shared", cost_usd="2", tenant_id="tenant-globex")]
    )
    day = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d")
    assert Decimal(daily_rollup(aws, TENANT, day)["cost_usd"]) == Decimal(1)
    assert Decimal(daily_rollup(aws, "tenant-globex", day)["cost_usd"]) == Decimal(2)


def test_poison_records_go_to_the_dead_letter_queue_and_the_valid_ones_commit(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    policy_id = _policy(api)
    future = (NOW + timedelta(hours=1)).isoformat()
    ancient = (NOW - timedelta(days=40)).isoformat()
    batch: list[dict[str, Any] | bytes] = [
        _event("good-1", cost_usd="1.25"),
        b"this is not json",
        json.dumps({"event_id": "no-tenant", "kind": "custom"}).encode(),
        _event("future", timestamp=future),
        _event("ancient", timestamp=ancient),
        _event("llm-without-model", kind="llm", provider="openai"),
        _event("negative", cost_usd="-1"),
        b"\xff\xfe\x00",
        _event("good-2", cost_usd="0.75"),
    ]
    result = usage_stream.deliver(batch)
    # Then the batch succeeds: nothing blocks the shard
    assert result == {"batchItemFailures": []}
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == Decimal("2.00")
    # And every poison record is in the DLQ with its reason and its data
    letters = aws.dead_letters()
    assert len(letters) == 7
    reasons = " | ".join(letter["reason"] for letter in letters)
    for expected in (
        "not a JSON object",
        "tenant_id",
        "future",
        "older than 35 days",
        "need model",
        "cost_usd",
    ):
        assert expected in reasons
    assert all(letter["record_id"] and letter["data_base64"] for letter in letters)
    assert usage_record(aws, TENANT, "future") is None


def test_an_unknown_model_is_recorded_as_unpriced_not_as_free(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    policy_id = _policy(api)
    mystery = _event("m1", kind="llm", provider="openai", model="gpt-99-ultra", usage={"input_tokens": 10})
    del mystery["cost_usd"]
    usage_stream.deliver([mystery, _event("c1", cost_usd="4")])
    counter = policy_counter(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1)))
    assert counter is not None
    assert (Decimal(counter["spent_usd"]), counter["events"], counter["unpriced_events"]) == (
        Decimal(4),
        2,
        1,
    )
    record = usage_record(aws, TENANT, "m1")
    assert record is not None
    assert "cost_usd" not in record
    assert record["price_version"] == "unpriced"


def test_a_producer_cost_wins_over_the_catalogue(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    policy_id = _policy(api)
    usage_stream.deliver(
        [
            _event(
                "p1",
                kind="llm",
                provider="openai",
                model="gpt-4o",
                cost_usd="0.0123",
                usage={"input_tokens": 1_000_000},
            )
        ]
    )
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == Decimal("0.0123")
    assert usage_record(aws, TENANT, "p1")["price_version"] == "producer"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"images": 2, "image_size": "1024x1024", "image_quality": "hd"}, Decimal("0.160")),
        ({"images": 1, "image_size": "1792x1024"}, Decimal("0.080")),
        ({"images": 3}, Decimal("0.120")),
    ],
)
def test_image_calls_are_priced_per_image_by_size_and_quality(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources, usage: dict[str, Any], expected: Decimal
) -> None:
    policy_id = _policy(api)
    image = _event(
        "img", kind="image", provider="openai", model="dall-e-3", operation="images.generate", usage=usage
    )
    del image["cost_usd"]
    usage_stream.deliver([image])
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == expected
    assert usage_record(aws, TENANT, "img")["price_version"].startswith("image-prices/")


def test_tenant_price_overrides_apply_to_that_tenant_only(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    # Given acme negotiated 20% off gpt-4o and runs a private model at its own rates
    for override in (
        {"provider": "openai", "model": "gpt-4o", "discount_percent": Decimal(20), "revision": 3},
        {
            "provider": "acme",
            "model": "acme-7b",
            "input_per_mtok": Decimal("0.5"),
            "output_per_mtok": Decimal(1),
        },
    ):
        item = {
            **price_override_key(TENANT, override["provider"], override["model"]),
            "entity": "price_override",
            **override,
        }
        aws.dynamodb.put_item(TableName=TABLE_NAME, Item=to_item(item))
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    events = []
    for event_id, tenant, provider, model in (
        ("a", TENANT, "openai", "gpt-4o"),
        ("b", TENANT, "acme", "acme-7b"),
        ("c", "tenant-globex", "openai", "gpt-4o"),
    ):
        event = _event(event_id, tenant_id=tenant, kind="llm", provider=provider, model=model, usage=usage)
        del event["cost_usd"]
        events.append(event)
    usage_stream.deliver(events)
    assert Decimal(usage_record(aws, TENANT, "a")["cost_usd"]) == Decimal("2.0")  # $2.50 less 20%
    assert usage_record(aws, TENANT, "a")["price_version"].endswith("tenant-override/openai/gpt-4o/r3")
    assert Decimal(usage_record(aws, TENANT, "b")["cost_usd"]) == Decimal("0.5")
    assert Decimal(usage_record(aws, "tenant-globex", "c")["cost_usd"]) == Decimal("2.5")


def test_an_event_with_a_reservation_id_releases_that_hold(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    # Given a hold of $5 sits on the policy's counter (as the reservations issue will place it)
    policy_id = _policy(api)
    month = _month(NOW - timedelta(minutes=1))
    usage_stream.deliver([_event("before", cost_usd="1")])
    aws.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=to_item({"pk": f"T#{TENANT}#P#{policy_id}", "sk": f"C#{month}"}),
        UpdateExpression="SET #h = :hold",
        ExpressionAttributeNames={"#h": "hold#res-1"},
        ExpressionAttributeValues=to_item({":hold": {"amount_usd": Decimal(5), "expires_at": 9999999999}}),
    )
    # When the call it reserved for reports its actual cost
    usage_stream.deliver([_event("settle", cost_usd="3.10", reservation_id="res-1")])
    # Then the hold is gone and the actual cost is counted, in the same transaction
    counter = policy_counter(aws, TENANT, policy_id, month)
    assert counter is not None
    assert "hold#res-1" not in counter
    assert Decimal(counter["spent_usd"]) == Decimal("4.10")


def test_a_policy_created_while_the_cache_is_fresh_counts_the_very_next_commit(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    # Given an ingest instance that read the tenant (no policies) moments ago and caches it
    usage_stream.deliver([_event("x1")])
    # When a policy is created (which takes in the spend already recorded) and usage follows at once
    policy_id = _policy(api)
    usage_stream.deliver([_event("x2")])
    # Then that usage counts against it: the commit's configuration check refused the cached set
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == 2 * Decimal(
        _event("x")["cost_usd"]
    )


def test_large_poison_records_all_reach_the_dead_letter_queue(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    # Given six 200 KB records that are not JSON next to a good one (more than one SQS batch holds)
    policy_id = _policy(api)
    batch: list[dict[str, Any] | bytes] = [_event("good", cost_usd="1.00")]
    batch += [b"<" + bytes([65 + i]) * 200_000 + b">" for i in range(6)]
    # When they are delivered
    result = usage_stream.deliver(batch)
    # Then nothing is retried, the good one counts, and each poison record is dead-lettered (its head kept)
    assert result == {"batchItemFailures": []}
    assert spent(aws, TENANT, policy_id, _month(NOW - timedelta(minutes=1))) == Decimal("1.00")
    letters = aws.dead_letters()
    assert len(letters) == 6
    assert all(letter["data_truncated"] for letter in letters)
