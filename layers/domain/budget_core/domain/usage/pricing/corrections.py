"""The project's own corrections to the price catalogue, applied before it: names it does not resolve
and prices it lacks. Each row says where its figure comes from and when it was read; a unit test
checks each row still changes something (a catalogue that fixed the gap makes the row obsolete).
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class NamePrefix:
    """A prefix a provider's API puts on model names that the catalogue's names do not carry."""

    provider: str
    prefix: str
    source: str


@dataclass(frozen=True)
class TieredRate:
    base: Decimal
    above_input_tokens: int
    rate: Decimal


@dataclass(frozen=True)
class PriceCorrection:
    provider: str
    model_id: str  # the catalogue's model id
    rates: dict[str, TieredRate]  # price key -> rate
    source: str


NAME_PREFIXES: tuple[NamePrefix, ...] = (
    NamePrefix(
        "google",
        "models/",
        "Gemini API model resource names (`models/gemini-2.5-pro`, as `models.list` and "
        "`modelVersion` give them), ai.google.dev/api/models, read 2026-12-03",
    ),
)

# Claude Sonnet 4 with the 1M-token context: a request over 200k input tokens is billed at the long
# context rates for all of its tokens (the catalogue has these tiers for Sonnet 4.5, not for 4).
_SONNET_4_LONG_CONTEXT = {
    "input_mtok": TieredRate(Decimal(3), 200_000, Decimal(6)),
    "output_mtok": TieredRate(Decimal(15), 200_000, Decimal("22.5")),
    "cache_read_mtok": TieredRate(Decimal("0.3"), 200_000, Decimal("0.6")),
    "cache_write_mtok": TieredRate(Decimal("3.75"), 200_000, Decimal("7.5")),
    "cache_write_1h_mtok": TieredRate(Decimal(6), 200_000, Decimal(12)),
}
PRICE_CORRECTIONS: tuple[PriceCorrection, ...] = (
    PriceCorrection(
        "anthropic",
        "claude-sonnet-4-0",
        _SONNET_4_LONG_CONTEXT,
        "anthropic.com/pricing, 'Long context pricing' (Claude Sonnet 4, prompts over 200K tokens: "
        "input $6, output $22.50, cache write 5m $7.50 / 1h $12, cache read $0.60 per MTok), "
        "read 2026-12-03",
    ),
)
_CORRECTIONS = {(c.provider, c.model_id): c for c in PRICE_CORRECTIONS}


def corrected_model_ref(provider: str, model: str) -> str:
    for rule in NAME_PREFIXES:
        if provider == rule.provider and model.lower().startswith(rule.prefix):
            return model[len(rule.prefix) :]
    return model


def corrected_price(provider: str, model_id: str, model_price: Any) -> Any:
    """``model_price`` (a catalogue ModelPrice) with this table's rates, or itself when none apply."""
    correction = _CORRECTIONS.get((provider, model_id))
    if correction is None:
        return model_price
    from genai_prices.types import Tier, TieredPrices

    patched = copy(model_price)
    for price_key, rate in correction.rates.items():
        current = getattr(model_price, price_key, None)
        if isinstance(current, Decimal) and current != rate.base:
            # the catalogue moved on: its base rate is the authority, the row is stale
            continue
        setattr(
            patched,
            price_key,
            TieredPrices(base=rate.base, tiers=[Tier(start=rate.above_input_tokens, price=rate.rate)]),
        )
    return patched
