"""The price-override admin API: a tenant's negotiated discounts and private-model rates, validated,
versioned, matched as the catalogue matches names, and used by ingestion and checks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
from tests.integration.conftest import ApiResponse
from tests.support.aws import TABLE_NAME, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.ledger_reads import usage_record
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _put(api: Api, roles: Any = None, **body: Any) -> ApiResponse:
    fields = {"provider": "openai", "model": "gpt-4o", **body}
    return api("put_price_override", body=fields, **({"roles": roles} if roles is not None else {}))


def test_an_override_is_created_replaced_listed_and_removed(api: Api, aws: AwsResources) -> None:
    configs = DynamoDBTenantConfigSource(aws.dynamodb, TABLE_NAME)
    before = configs.load("tenant-acme").version
    # Given an admin sets a 20 % discount on gpt-4o, then changes it to 25 %
    created = _put(api, discount_percent="20")
    replaced = _put(api, discount_percent="25")
    # Then the first write creates revision 1 and the second replaces it as revision 2, each moving
    # the tenant's configuration version (what commits and reservations are conditioned on)
    assert (created.status, created.body["revision"]) == (201, 1)
    assert (replaced.status, replaced.body["revision"], replaced.body["discount_percent"]) == (200, 2, "25")
    assert configs.load("tenant-acme").version == before + 2
    # And a viewer sees it, another tenant does not
    listed = api("list_price_overrides", roles="[viewer]")
    assert [(o["model"], o["revision"]) for o in listed.body["items"]] == [("gpt-4o", 2)]
    assert api("list_price_overrides", tenant="tenant-globex").body["items"] == []
    # When it is removed, then it is gone, and removing it again is a 404
    assert api("delete_price_override").status == 204
    assert api("list_price_overrides").body["items"] == []
    assert api("delete_price_override").status == 404
    assert configs.load("tenant-acme").version == before + 3


def test_only_an_admin_changes_prices(api: Api) -> None:
    assert _put(api, roles="[viewer]", discount_percent="20").status == 403
    assert _put(api, roles="[service]", discount_percent="20").status == 403
    assert api("delete_price_override", roles="[viewer]").status == 403


@pytest.mark.parametrize(
    "body",
    [
        {"discount_percent": "20", "input_per_mtok": "1"},  # both kinds
        {},  # neither
        {"discount_percent": "101"},
        {"input_per_mtok": "-1"},
        {"discount_percent": "20", "revision": 9, "surprise": 1},
        {"model": "has spaces", "discount_percent": "20"},
        {"rates": {"per_token": "1"}},  # not a price key of the catalogue
        {"rates": {"input_audio_mtok": "40"}},  # a part's rate without its whole's (input_mtok)
    ],
)
def test_a_bad_override_is_422(api: Api, body: dict[str, Any]) -> None:
    response = _put(api, **body)
    assert response.status == 422, response.body
    assert response.body["error"]["code"] == "validation_failed"


def test_a_second_override_of_the_same_model_under_another_name_is_a_conflict(api: Api) -> None:
    # Given an override of gpt-4o
    assert _put(api, discount_percent="20").status == 201
    # When another names a dated snapshot of the same model, then it is refused naming the first
    response = _put(api, model="gpt-4o-2024-08-06", discount_percent="30")
    assert response.status == 409
    assert response.body["error"]["code"] == "price_override_conflict"
    assert response.body["error"]["details"] == [{"field": "model", "existing_model": "gpt-4o"}]


def test_an_override_reaches_ingestion_and_checks_under_every_name_of_the_model(
    api: Api, aws: AwsResources, usage_stream: UsageStreamDriver
) -> None:
    # Given a 50 % discount on gpt-4o (list: $2.50 per MTok input, openai.com/api/pricing read
    # 2026-12-03) and a private model's own rates
    assert _put(api, discount_percent="50").status == 201
    assert _put(api, provider="acme", model="House-1", input_per_mtok="2", output_per_mtok="4").status == 201
    # When usage is recorded under the model's other names and checked
    events = [
        {
            "event_id": f"po-{index}",
            "tenant_id": "tenant-acme",
            "kind": "llm",
            "provider": provider,
            "model": model,
            "timestamp": NOW.isoformat(),
            "usage": {"input_tokens": 1_000_000},
        }
        for index, (provider, model) in enumerate(
            [("openai", "GPT-4o"), ("openai", "gpt-4o-2024-08-06"), ("acme", "house-1")]
        )
    ]
    assert usage_stream.deliver(events) == {"batchItemFailures": []}
    check = api(
        "check_budget",
        body={"provider": "openai", "model": "gpt-4o-2024-08-06", "usage": {"input_tokens": 1_000_000}},
    )
    # Then every one of them is priced by the tenant's rates
    assert [Decimal(usage_record(aws, "tenant-acme", e["event_id"])["cost_usd"]) for e in events] == [
        Decimal("1.25"),
        Decimal("1.25"),
        Decimal(2),
    ]
    assert check.status == 200, check.body
    assert check.body["estimated_cost_usd"] == "1.25"


def test_a_private_models_own_rates_price_audio_tokens_and_seconds_through_ingestion(
    api: Api, aws: AwsResources, usage_stream: UsageStreamDriver
) -> None:
    # Given a private model's rates in the catalogue's price keys
    rates = {"input_mtok": "2", "input_audio_mtok": "40", "audio_hours": "0.36", "output_mtok": "8"}
    put = _put(api, provider="acme", model="voice-1", rates=rates)
    assert put.status == 201, put.body
    assert {k: Decimal(v) for k, v in put.body["rates"].items()} == {k: Decimal(v) for k, v in rates.items()}
    # When calls report audio tokens, seconds, and characters (which it has no rate for)
    usages = [
        {"input_tokens": 100_000, "input_audio_tokens": 50_000, "output_tokens": 10_000},
        {"audio_seconds": "90"},
        {"input_characters": 500},
    ]
    events = [
        {
            "event_id": f"own-{index}",
            "tenant_id": "tenant-acme",
            "kind": "llm",
            "provider": "acme",
            "model": "voice-1",
            "timestamp": NOW.isoformat(),
            "usage": usage,
        }
        for index, usage in enumerate(usages)
    ]
    assert usage_stream.deliver(events) == {"batchItemFailures": []}
    # Then each unit is priced at its own rate, and the one without a rate is unpriced, not $0
    costs = [usage_record(aws, "tenant-acme", e["event_id"]).get("cost_usd") for e in events]
    assert [Decimal(c) if c is not None else None for c in costs] == [Decimal("2.18"), Decimal("0.009"), None]


def test_the_price_routes_are_in_the_openapi_document(api: Api) -> None:
    document = api("get_openapi").body
    assert set(document["paths"]["/v1/prices"]) == {"get", "put", "delete"}
