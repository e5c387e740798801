from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from budget_core.domain.usage.event import TokenAndImageUsage, UsageEvent
from budget_core.domain.usage.pricing.image_prices import IMAGE_PRICES
from budget_core.domain.usage.pricing.overrides import PriceOverride
from budget_core.domain.usage.pricing.pricer import Pricer
from budget_core.domain.usage.pricing.token_prices import TokenCatalogue

AT = datetime(2026, 11, 29, 10, tzinfo=UTC)
CONTEXT = {"now": AT}


def _event(**fields: Any) -> UsageEvent:
    base = {
        "event_id": "e",
        "tenant_id": "t",
        "timestamp": AT.isoformat(),
        "kind": "llm",
        "provider": "openai",
        "model": "gpt-4o",
    }
    return UsageEvent.model_validate({**base, **fields}, context=CONTEXT)


@st.composite
def token_usages(draw: st.DrawFn) -> TokenAndImageUsage:
    input_tokens = draw(st.integers(0, 400_000))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    return TokenAndImageUsage(
        input_tokens=input_tokens,
        output_tokens=draw(st.integers(0, 100_000)),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("google", "gemini-2.5-pro"),
    ("openai", "text-embedding-3-small"),
    ("anthropic", "claude-haiku-4-5"),
]


@settings(max_examples=300, deadline=None)
@given(usage=token_usages(), model=st.sampled_from(MODELS))
def test_the_fast_path_prices_exactly_as_genai_prices(
    usage: TokenAndImageUsage, model: tuple[str, str]
) -> None:
    provider, name = model
    ours = TokenCatalogue().cost(provider, name, usage, AT)
    theirs = calc_price(
        Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        ),
        name,
        provider_id=provider,
        genai_request_timestamp=AT,
    ).total_price
    assert ours == theirs


def test_an_unknown_model_is_unpriced_never_zero() -> None:
    quote = Pricer().quote(_event(model="gpt-99-ultra", usage={"input_tokens": 10}), {})
    assert quote.cost_usd is None
    assert quote.price_version == "unpriced"
    assert Pricer().quote(_event(kind="custom", provider=None, model=None), {}).cost_usd is None


def test_the_producers_cost_wins() -> None:
    quote = Pricer().quote(_event(cost_usd="0.5", usage={"input_tokens": 10**6}), {})
    assert (quote.cost_usd, quote.price_version) == (Decimal("0.5"), "producer")


@pytest.mark.parametrize(
    ("model", "usage", "expected"),
    [
        ("dall-e-3", {"images": 1}, "0.040"),
        ("dall-e-3", {"images": 2, "image_size": "1792x1024", "image_quality": "hd"}, "0.240"),
        ("dall-e-2", {"images": 4, "image_size": "256x256"}, "0.064"),
        ("gpt-image-1", {"images": 1, "image_size": "1536x1024", "image_quality": "low"}, "0.016"),
        # the API's defaults are "auto" quality and size: priced as the dearest of each
        ("gpt-image-1", {"images": 1}, "0.25"),
        ("gpt-image-1", {"images": 1, "image_size": "auto", "image_quality": "low"}, "0.016"),
        ("gpt-image-1-2025-04-15", {"images": 1, "image_size": "1024x1024", "image_quality": "low"}, "0.011"),
    ],
)
def test_images_are_priced_from_the_image_table(model: str, usage: dict[str, Any], expected: str) -> None:
    quote = Pricer().quote(_event(kind="image", model=model, usage=usage), {})
    assert quote.cost_usd == Decimal(expected)
    assert quote.price_version.startswith("image-prices/")


def test_an_image_size_the_table_does_not_know_is_unpriced() -> None:
    event = _event(kind="image", model="dall-e-3", usage={"images": 1, "image_size": "640x480"})
    assert Pricer().quote(event, {}).cost_usd is None


def test_every_image_price_names_its_source() -> None:
    for (provider, model), price in IMAGE_PRICES.items():
        assert price.source.startswith("https://"), (provider, model)
        assert price.flat is not None or price.by_quality_and_size


def test_a_discount_override_applies_to_the_catalogue_price() -> None:
    override = PriceOverride(provider="openai", model="gpt-4o", discount_percent=Decimal(25), revision=2)
    quote = Pricer().quote(_event(usage={"input_tokens": 1_000_000}), {("openai", "gpt-4o"): override})
    assert quote.cost_usd == Decimal("1.875")
    assert quote.price_version == "genai-prices/0.2.3+tenant-override/openai/gpt-4o/r2"


def test_own_rates_price_a_private_model_and_default_cache_rates_to_input() -> None:
    override = PriceOverride(
        provider="acme", model="private-7b", input_per_mtok=Decimal(2), output_per_mtok=Decimal(4)
    )
    event = _event(
        provider="acme",
        model="private-7b",
        usage={"input_tokens": 1_000_000, "cache_read_tokens": 500_000, "output_tokens": 250_000},
    )
    assert Pricer().quote(event, {("acme", "private-7b"): override}).cost_usd == Decimal(3)


@pytest.mark.parametrize("fields", [{}, {"discount_percent": 10, "per_image": "0.01"}])
def test_an_override_is_either_a_discount_or_own_rates(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="either"):
        PriceOverride.model_validate({"provider": "openai", "model": "gpt-4o", **fields})


def test_a_fee_per_request_is_charged_as_genai_prices_charges_it() -> None:
    usage = TokenAndImageUsage(input_tokens=1000, output_tokens=500)
    ours = TokenCatalogue().cost("perplexity", "sonar", usage, AT)
    theirs = calc_price(
        Usage(input_tokens=1000, output_tokens=500),
        "sonar",
        provider_id="perplexity",
        genai_request_timestamp=AT,
    ).total_price
    assert ours == theirs
    assert ours is not None
    assert ours > Decimal("0.01")  # $12 per 1,000 requests on top of the tokens


def test_images_of_a_model_the_image_table_does_not_know_are_unpriced_not_free() -> None:
    event = _event(kind="image", provider="openai", model="gpt-image-1.5", usage={"images": 4})
    assert Pricer().quote(event, {}).cost_usd is None
