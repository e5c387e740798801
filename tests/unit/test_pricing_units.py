"""Usage v1.1: every unit the catalogue prices, priced right and never a silent $0.

Golden figures are the providers' list prices, each with its source and the date it was read; the
fast path, ``calc_price`` and the golden figure must agree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.data_units import unit_data
from genai_prices.units import UnitRegistry
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from budget_core.domain.usage.event import TokenAndImageUsage, UsageEvent
from budget_core.domain.usage.pricing.corrections import NAME_PREFIXES, PRICE_CORRECTIONS
from budget_core.domain.usage.pricing.overrides import PriceOverride
from budget_core.domain.usage.pricing.own_rates import rates_problem
from budget_core.domain.usage.pricing.pricer import Pricer
from budget_core.domain.usage.pricing.token_prices import (
    PRICES_KEPT,
    TIER_CONTEXTS,
    UNKNOWN_MODELS_KEPT,
    ModelNotPriced,
    TokenCatalogue,
)
from budget_core.domain.usage.units import FRACTIONAL_KEYS, PRICE_KEY_UNITS, USAGE_KEY_ANCESTORS

AT = datetime(2026, 12, 3, 10, tzinfo=UTC)


def _quote(
    provider: str,
    model: str,
    usage: dict[str, Any],
    at: datetime = AT,
    overrides: Mapping[tuple[str, str], PriceOverride] | None = None,
    **fields: Any,
) -> Decimal | None:
    event = UsageEvent.model_validate(
        {
            "event_id": "e",
            "tenant_id": "t",
            "timestamp": at,
            "provider": provider,
            "model": model,
            "usage": usage,
            **{"kind": "llm", **fields},
        },
        context={"now": at},
    )
    return Pricer().quote(event, overrides or {}).cost_usd


# -- the usage keys --------------------------------------------------------------------------------


def test_the_usage_keys_are_the_catalogues_with_the_same_parts() -> None:
    registry = UnitRegistry(unit_data)
    theirs = {key: tuple(sorted(registry.ancestor_usage_keys(key))) for key in unit_data if key != "requests"}
    assert theirs == USAGE_KEY_ANCESTORS
    assert set(TokenAndImageUsage.model_fields) == {*theirs, "images", "image_size", "image_quality"}
    assert {key for key, unit in unit_data.items() if unit["dimensions"]["family"] == "durations"} == set(
        FRACTIONAL_KEYS
    )
    # and a tenant's own rates are written in the catalogue's price keys (requests have no usage key)
    price_keys = {unit.get("price_key", key): key for key, unit in unit_data.items() if key != "requests"}
    assert price_keys == PRICE_KEY_UNITS


def test_an_unknown_usage_key_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="cache_write_2h_tokens"):
        TokenAndImageUsage.model_validate({"input_tokens": 10, "cache_write_2h_tokens": 5})


@pytest.mark.parametrize(
    ("usage", "named"),
    [
        (
            {"input_tokens": 10, "cache_write_tokens": 10, "cache_write_1h_tokens": 11},
            "cache_write_1h_tokens",
        ),
        ({"input_tokens": 10, "input_audio_tokens": 11}, "input_audio_tokens"),
        ({"output_tokens": 5, "output_reasoning_tokens": 6}, "output_reasoning_tokens"),
        ({"audio_seconds": "1.5", "input_audio_seconds": "2"}, "input_audio_seconds"),
    ],
)
def test_a_part_larger_than_its_total_is_refused_naming_both(usage: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        TokenAndImageUsage.model_validate(usage)


# -- golden figures (list prices) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "usage", "tier", "golden"),
    [
        # anthropic.com/pricing, read 2026-12-03: Sonnet 4.5 $3 in, $15 out, cache read $0.30,
        # 5-minute write $3.75, 1-hour write $6 per MTok. 1k new + 50k read + 4k 5m + 6k 1h, 2k out.
        (
            "anthropic",
            "claude-sonnet-4-5",
            {
                "input_tokens": 61_000,
                "cache_read_tokens": 50_000,
                "cache_write_tokens": 10_000,
                "cache_write_1h_tokens": 6_000,
                "output_tokens": 2_000,
            },
            None,
            "0.099",
        ),
        # openai.com/api/pricing, read 2026-12-03: gpt-audio audio $32 in, $64 out per MTok.
        (
            "openai",
            "gpt-audio",
            {
                "input_tokens": 100_000,
                "input_audio_tokens": 100_000,
                "output_tokens": 100_000,
                "output_audio_tokens": 100_000,
            },
            None,
            "9.6",
        ),
        # ai.google.dev/gemini-api/docs/pricing, read 2026-12-03: gemini-2.5-flash-image output
        # images $30 per MTok (1,290 tokens per 1024x1024 image: $0.039).
        (
            "google",
            "gemini-2.5-flash-image",
            {"output_tokens": 1_290, "output_image_tokens": 1_290},
            None,
            "0.0387",
        ),
        # openai.com/api/pricing, read 2026-12-03: whisper-1 $0.006 per minute; tts-1 $15 per 1M
        # characters.
        ("openai", "whisper-1", {"audio_seconds": "600"}, None, "0.06"),
        ("openai", "tts-1", {"input_characters": 10_000}, None, "0.15"),
        # openai.com/api/pricing (Priority), read 2026-12-03: gpt-5 input $1.25, priority $2.50.
        ("openai", "gpt-5", {"input_tokens": 1_000_000}, None, "1.25"),
        ("openai", "gpt-5", {"input_tokens": 1_000_000}, "priority", "2.5"),
        ("openai", "gpt-5", {"input_tokens": 1_000_000}, "flex", "0.625"),
        ("openai", "gpt-5", {"input_tokens": 1_000_000}, "batch", "0.625"),
        # anthropic.com/pricing, long context, read 2026-12-03: Sonnet 4 over 200k input tokens is
        # $6 in, $22.50 out for the whole request (the project's correction table).
        ("anthropic", "claude-sonnet-4-0", {"input_tokens": 250_000, "output_tokens": 1_000}, None, "1.5225"),
        ("anthropic", "claude-sonnet-4-0", {"input_tokens": 200_000, "output_tokens": 1_000}, None, "0.615"),
        # ai.google.dev/gemini-api/docs/pricing, read 2026-12-03: gemini-2.5-pro $1.25 in, $10 out
        # per MTok (up to 200k); the API's resource name resolves like the bare id.
        ("google", "models/gemini-2.5-pro", {"input_tokens": 1_000, "output_tokens": 1_000}, None, "0.01125"),
    ],
)
def test_each_unit_is_priced_at_its_list_price(
    provider: str, model: str, usage: dict[str, Any], tier: str | None, golden: str
) -> None:
    fields = {"service_tier": tier} if tier else {}
    assert _quote(provider, model, usage, **fields) == Decimal(golden)


@pytest.mark.parametrize(
    ("model", "usage"),
    [("whisper-1", {"input_tokens": 1_000}), ("tts-1", {"input_tokens": 1_000, "output_tokens": 10})],
)
def test_a_model_billed_by_a_unit_the_event_lacks_is_unpriced_not_free(
    model: str, usage: dict[str, Any]
) -> None:
    assert _quote("openai", model, usage) is None


def test_off_peak_prices_follow_the_time_of_day_through_one_cache() -> None:
    # api-docs.deepseek.com/quick_start/pricing (read 2026-12-03): off-peak 16:30-00:30 UTC at half
    # price. The same catalogue prices every moment, as one ingestion instance does all day.
    catalogue = TokenCatalogue()
    usage = TokenAndImageUsage(input_tokens=1_000_000)
    day = datetime(2026, 12, 3, tzinfo=UTC)
    edge = timedelta(microseconds=1)
    moments = {
        day + timedelta(minutes=30) - edge: Decimal("0.135"),
        day + timedelta(minutes=30): Decimal("0.27"),
        day + timedelta(hours=16, minutes=30) - edge: Decimal("0.27"),
        day + timedelta(hours=16, minutes=30): Decimal("0.135"),
    }
    for moment, golden in [*moments.items(), *moments.items()]:
        assert catalogue.cost("deepseek", "deepseek-chat", usage, moment) == golden, moment


# -- the fast path equals the library ------------------------------------------------------------

FAST_PATH_MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-5"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),
    ("deepseek", "deepseek-chat"),
    ("perplexity", "sonar"),
    ("openai", "gpt-audio"),
]


@st.composite
def usages(draw: st.DrawFn) -> TokenAndImageUsage:
    input_tokens = draw(st.integers(0, 400_000))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    output = draw(st.integers(0, 100_000))
    return TokenAndImageUsage(
        input_tokens=input_tokens,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=draw(st.integers(0, cache_write)),
        output_reasoning_tokens=draw(st.integers(0, output)),
        input_audio_tokens=draw(st.sampled_from([0, 0, 0, input_tokens - cache_read - cache_write])),
    )


@settings(max_examples=300, deadline=None)
@given(
    usage=usages(),
    model=st.sampled_from(FAST_PATH_MODELS),
    tier=st.sampled_from([None, *TIER_CONTEXTS]),
    moment=st.datetimes(
        min_value=datetime(2026, 10, 1),  # noqa: DTZ001 (hypothesis bounds are naive; zone below)
        max_value=datetime(2027, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_the_fast_path_prices_exactly_as_calc_price(
    usage: TokenAndImageUsage, model: tuple[str, str], tier: str | None, moment: datetime
) -> None:
    provider, name = model
    context = TIER_CONTEXTS[tier] if tier else None
    try:
        theirs: Decimal | None = calc_price(
            Usage(**usage.reported()),
            name,
            provider_id=provider,
            genai_request_timestamp=moment,
            price_context=context or None,
        ).total_price
    except ValueError:
        theirs = None
    try:
        ours = TokenCatalogue().cost(provider, name, usage, moment, tier)
    except ModelNotPriced:
        assert not theirs  # refused by the library, or $0 for a model that charges for other units
        return
    assert ours == theirs


# -- bounded caches --------------------------------------------------------------------------------


def test_the_caches_stay_bounded_and_unknown_names_never_evict_known_models() -> None:
    catalogue = TokenCatalogue()
    usage = TokenAndImageUsage(input_tokens=10, output_tokens=10)
    assert catalogue.cost("openai", "gpt-4o", usage, AT) is not None
    for index in range(UNKNOWN_MODELS_KEPT * 3):
        assert catalogue.cost("openai", f"made-up-{index}", usage, AT) is None
    for minute in range(0, PRICES_KEPT * 2, 7):  # a fortnight of prices, minute by minute
        catalogue.cost("deepseek", "deepseek-chat", usage, AT + timedelta(minutes=minute))
    sizes = catalogue.cache_sizes()
    assert sizes["unknown_models"] <= UNKNOWN_MODELS_KEPT
    assert sizes["prices"] <= PRICES_KEPT
    assert catalogue.resolve("openai", "gpt-4o") is not None
    assert sizes["models"] == 2


# -- the correction table --------------------------------------------------------------------------


def test_every_correction_still_corrects_something_and_names_its_source() -> None:
    snapshot = get_snapshot()
    for rule in NAME_PREFIXES:
        assert "read 20" in rule.source
        with pytest.raises(LookupError):
            snapshot.find_provider_model(f"{rule.prefix}gemini-2.5-pro", None, rule.provider, None)
    for correction in PRICE_CORRECTIONS:
        assert "read 20" in correction.source
        _, model = snapshot.find_provider_model(correction.model_id, None, correction.provider, None)
        price = model.get_prices(AT)
        assert any(isinstance(getattr(price, key, None), Decimal) for key in correction.rates), (
            f"{correction.model_id}: the catalogue has tiers now; drop the row"
        )


def test_an_llm_event_of_an_image_model_is_priced_by_the_image_table() -> None:
    usage = {"images": 2, "image_size": "1024x1024", "image_quality": "standard"}
    assert _quote("openai", "dall-e-3", usage) == Decimal("0.08")


@pytest.mark.parametrize("model", ["gpt-4o", "GPT-4o", "gpt-4o-2024-08-06"])
def test_a_discount_covers_every_name_the_catalogue_resolves_to_the_model(model: str) -> None:
    # Given a 25 % discount on gpt-4o (list: $2.50 per MTok input, openai.com/api/pricing read
    # 2026-12-03)
    override = PriceOverride(provider="openai", model="gpt-4o", discount_percent=Decimal(25))
    event = UsageEvent.model_validate(
        {
            "event_id": "e",
            "tenant_id": "t",
            "timestamp": AT,
            "kind": "llm",
            "provider": "openai",
            "model": model,
            "usage": {"input_tokens": 1_000_000},
        },
        context={"now": AT},
    )
    # When an event names the model any way the catalogue resolves, then the discount applies
    assert Pricer().quote(event, {("openai", "gpt-4o"): override}).cost_usd == Decimal("1.875")


def test_a_private_models_rates_match_without_regard_to_case() -> None:
    override = PriceOverride(provider="acme", model="House-Model", input_per_mtok=Decimal(2))
    quoted = _quote(
        "acme", "house-model", {"input_tokens": 500_000}, overrides={("acme", "House-Model"): override}
    )
    assert quoted == Decimal(1)


def test_an_image_edit_pays_for_its_prompt_and_input_images_as_tokens() -> None:
    # openai.com/api/pricing (gpt-image-1), read 2026-12-03: text input $5, image input $10 per
    # MTok; one 1024x1024 low-quality image $0.011. An edit: 100 prompt + 1,000 input-image tokens.
    usage = {
        "images": 1,
        "image_size": "1024x1024",
        "image_quality": "low",
        "input_tokens": 1_100,
        "input_image_tokens": 1_000,
    }
    assert _quote("openai", "gpt-image-1", usage, kind="image") == Decimal("0.0215")


def test_an_image_call_reporting_its_output_tokens_is_priced_by_tokens() -> None:
    # The Images API's own usage: 50 text input tokens, 4,160 output image tokens ($40 per MTok)
    usage = {"images": 1, "input_tokens": 50, "output_tokens": 4_160}
    assert _quote("openai", "gpt-image-1", usage, kind="image") == Decimal("0.16665")


@pytest.mark.parametrize(
    ("provider", "model", "usage", "golden"),
    [
        # ai.google.dev/gemini-api/docs/pricing (Imagen 4), read 2026-11-01: $0.04 per image
        ("google", "imagen-4.0-generate-001", {"images": 3}, "0.12"),
        # platform.stability.ai/pricing, read 2026-11-01: Stable Image Core 3 credits ($0.03)
        ("stability", "stable-image-core", {"images": 2}, "0.06"),
        # docs.bfl.ai/quick_start/pricing, read 2026-11-01: FLUX1.1 [pro] $0.04 per image
        ("bfl", "flux-pro-1.1", {"images": 1}, "0.04"),
        # aws.amazon.com/bedrock/pricing, read 2026-11-01: Titan Image Generator v2, premium
        # 1024x1024, $0.012 per image
        (
            "aws",
            "amazon.titan-image-generator-v2:0",
            {"images": 5, "image_size": "1024x1024", "image_quality": "hd"},
            "0.060",
        ),
        # openai.com/api/pricing, read 2026-11-01: DALL-E 3 HD 1792x1024 $0.12
        ("openai", "dall-e-3", {"images": 1, "image_size": "1792x1024", "image_quality": "hd"}, "0.120"),
    ],
)
def test_each_image_api_of_the_table_is_priced_at_its_list_price(
    provider: str, model: str, usage: dict[str, Any], golden: str
) -> None:
    assert _quote(provider, model, usage, kind="image") == Decimal(golden)


def test_own_token_rates_never_price_seconds_or_characters_at_zero() -> None:
    # Given a private speech model with per-token rates only
    override = PriceOverride(provider="acme", model="speech-1", input_per_mtok=Decimal(3))
    # When a call reports seconds, then it is unpriced, not free
    assert (
        _quote("acme", "speech-1", {"audio_seconds": "90"}, overrides={("acme", "speech-1"): override})
        is None
    )


def _own(**rates: str) -> dict[tuple[str, str], PriceOverride]:
    return {("acme", "house-1"): PriceOverride(provider="acme", model="house-1", rates=rates)}


def test_own_rates_price_every_unit_the_catalogue_has_a_price_key_for() -> None:
    # Given a private text model's rates for input, output and 5-minute and 1-hour cache writes
    text = _own(input_mtok="2", output_mtok="8", cache_write_mtok="2.5", cache_write_1h_mtok="4")
    # When a call writes 250k 1-hour cache of its 1M input, with 100k output, then the writes are at
    # their own rate and the rest of the input at input_mtok
    usage = {"input_tokens": 1_000_000, "cache_write_tokens": 250_000, "cache_write_1h_tokens": 250_000}
    assert _quote("acme", "house-1", {**usage, "output_tokens": 100_000}, overrides=text) == Decimal("3.3")
    # Given a private speech model's rates for text and audio input tokens and for seconds
    speech = _own(input_mtok="2", input_audio_mtok="40", audio_hours="0.36")
    # Then 100k input of which 50k audio is 50k x $2 + 50k x $40 per MTok, and 90 s is $0.009
    audio = {"input_tokens": 100_000, "input_audio_tokens": 50_000}
    assert _quote("acme", "house-1", audio, overrides=speech) == Decimal("2.1")
    assert _quote("acme", "house-1", {"audio_seconds": "90"}, overrides=speech) == Decimal("0.009")


def test_a_part_without_its_own_rate_is_priced_as_its_whole_and_a_unit_without_any_is_unpriced() -> None:
    rates = _own(input_mtok="2", output_mtok="8")
    # Given only input and output rates: 5-minute writes and reasoning are parts of input and output
    usage = {"input_tokens": 1_000_000, "cache_write_tokens": 500_000, "output_reasoning_tokens": 1_000_000}
    assert _quote("acme", "house-1", {**usage, "output_tokens": 1_000_000}, overrides=rates) == Decimal(10)
    # And characters and web searches have no rate of theirs or of a whole: unpriced, never $0
    assert _quote("acme", "house-1", {"input_characters": 1_000}, overrides=rates) is None
    assert _quote("acme", "house-1", {"input_tokens": 10, "web_searches": 1}, overrides=rates) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rates": {"input_per_mtok": "1"}}, "unknown price keys"),
        ({"rates": {"requests_kcount": "1"}}, "unknown price keys"),
        ({"input_per_mtok": "1", "rates": {"input_mtok": "2"}}, "same rate"),
        ({"discount_percent": "10", "rates": {"input_mtok": "2"}}, "not both"),
        ({"rates": {"input_mtok": "-1"}}, "greater than or equal to 0"),
    ],
)
def test_own_rates_are_refused_by_name_when_the_catalogue_has_no_such_key(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        PriceOverride(provider="acme", model="house-1", **fields)


def test_rates_the_catalogue_cannot_apply_are_named_as_it_names_them() -> None:
    # (a part's rate needs its whole's, and two parts priced apart need their meeting priced too)
    assert (
        rates_problem({"input_audio_mtok": Decimal(40)})
        == "Missing ancestor price for input_audio_tokens: input_tokens"
    )
    both = {"input_mtok": 2, "cache_write_mtok": 3, "cache_write_1h_mtok": 4, "input_audio_mtok": 40}
    assert "cache_audio_write_1h_tokens" in str(rates_problem({k: Decimal(v) for k, v in both.items()}))
    assert rates_problem({"input_mtok": Decimal(2), "input_audio_mtok": Decimal(40)}) is None


@pytest.mark.parametrize(
    ("model", "golden"),
    [
        # aws.amazon.com/bedrock/pricing, read 2026-12-03, 1M input tokens. Cross-region inference
        # profiles carry a geography prefix; the in-region price applies, and Claude Sonnet 4.5's
        # regional (geography) profiles cost 10 % more than its global one.
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "3"),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "3"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "3"),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "3.3"),
        ("apac.amazon.nova-micro-v1:0", "0.035"),
        ("us.meta.llama3-2-1b-instruct-v1:0", "0.1"),
    ],
)
def test_bedrock_cross_region_profiles_are_priced_as_their_model(model: str, golden: str) -> None:
    assert _quote("aws", model, {"input_tokens": 1_000_000}) == Decimal(golden)
    assert _quote("bedrock", model, {"input_tokens": 1_000_000}) == Decimal(golden)


def test_a_discount_on_a_bedrock_model_covers_its_cross_region_profiles() -> None:
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    discount = {("aws", model): PriceOverride(provider="aws", model=model, discount_percent=Decimal(20))}
    assert _quote("aws", f"us.{model}", {"input_tokens": 1_000_000}, overrides=discount) == Decimal("2.4")
