"""Recorded provider responses forwarded as ``provider_usage`` (events/usage_ingest/provider_usage):
each is read with its provider's conventions and priced to its list-price golden figure, and the
service's figure equals genai-prices' own extraction and ``calc_price``."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import calc_price, extract_usage
from pydantic import ValidationError

from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.pricing.pricer import Pricer
from tests.support.provider_samples import GOLDEN, SAMPLES


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def _event(data: dict[str, Any]) -> UsageEvent:
    moment = datetime.fromisoformat(data["timestamp"])
    return UsageEvent.model_validate_json(json.dumps(data), context={"now": moment})


def test_every_recorded_sample_has_its_golden_figure() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.json")) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_recorded_provider_usage_is_priced_to_its_list_price(name: str) -> None:
    # Given a usage event carrying the provider's own usage object, as its API returned it
    data = _sample(name)
    golden, source = GOLDEN[name]
    # When the service reads and prices it
    event = _event(data)
    ours = Pricer().quote(event, {}).cost_usd
    # Then it is the list price, and genai-prices' own reading of the response agrees
    assert ours == Decimal(golden), source
    flavor = data.get("api_flavor", "default")
    root = {"google": "usageMetadata"}.get(data["provider"], "usage")
    extracted = extract_usage({root: data["provider_usage"]}, provider_id=data["provider"], api_flavor=flavor)
    theirs = calc_price(
        extracted.usage,
        data["model"],
        provider_id=data["provider"],
        genai_request_timestamp=event.timestamp,
    ).total_price
    assert ours == theirs


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"api_flavor": "realtime_v2"}, "api_flavor"),
        ({"provider": "nobody"}, "nobody"),
        ({"usage": {"input_tokens": 1}}, "not both"),
        ({"provider_usage": {"prompt_tokens": "many"}}, "provider_usage"),
        ({"provider_usage": {"note": "x" * 17_000}}, "16384 bytes"),
    ],
)
def test_a_provider_usage_that_cannot_be_read_is_refused_saying_why(
    change: dict[str, Any], named: str
) -> None:
    data = {**_sample("openai_chat.json"), **change}
    with pytest.raises(ValidationError, match=named):
        _event(data)
