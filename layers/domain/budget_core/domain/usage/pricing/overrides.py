"""Per-tenant prices: a negotiated discount on the catalogue, or rates for a private model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from budget_core.domain.policies.policy import FILTER_VALUE_PATTERN
from budget_core.domain.shared.money import Money
from budget_core.domain.usage.units import PRICE_KEY_UNITS

Rate = Annotated[Money, Field(ge=0, le=Decimal(1_000_000))]

# The four rates named before ``rates`` existed, and the catalogue's price key each one is.
NAMED_RATES = {
    "input_per_mtok": "input_mtok",
    "output_per_mtok": "output_mtok",
    "cache_read_per_mtok": "cache_read_mtok",
    "cache_write_per_mtok": "cache_write_mtok",
}


class PriceOverride(BaseModel):
    # Few tenants have negotiated prices: the validator is built when the first override is read,
    # not on every cold start.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    provider: Annotated[str, Field(pattern=FILTER_VALUE_PATTERN)]
    model: Annotated[str, Field(pattern=FILTER_VALUE_PATTERN)]
    discount_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    input_per_mtok: Rate | None = None
    output_per_mtok: Rate | None = None
    cache_read_per_mtok: Rate | None = None
    cache_write_per_mtok: Rate | None = None
    per_image: Rate | None = None
    # Any of the catalogue's price keys: {"cache_write_1h_mtok": "7.5", "input_audio_mtok": "40",
    # "audio_hours": "0.36", "input_mchars": "15"}. A part without its own rate is priced as its
    # whole (audio input tokens at input_mtok); a unit with no rate for it or its whole is unpriced.
    rates: Annotated[dict[str, Rate], Field(max_length=len(PRICE_KEY_UNITS))] | None = None
    revision: Annotated[int, Field(ge=1)] = 1

    @field_validator("rates")
    @classmethod
    def _catalogue_price_keys(cls, rates: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        unknown = sorted(key for key in rates or {} if key not in PRICE_KEY_UNITS)
        if unknown:
            raise ValueError(f"unknown price keys {unknown[:5]}: use the catalogue's, such as input_mtok")
        return rates

    @model_validator(mode="after")
    def _one_kind_of_override(self) -> Self:
        has_rates = self.has_own_rates
        if has_rates == (self.discount_percent is not None):
            raise ValueError("give either discount_percent or the model's own rates, not both or neither")
        twice = sorted(
            name
            for name, key in NAMED_RATES.items()
            if getattr(self, name) is not None and key in (self.rates or {})
        )
        if twice:
            raise ValueError(f"{twice[0]} and rates.{NAMED_RATES[twice[0]]} are the same rate: give one")
        return self

    @property
    def has_own_rates(self) -> bool:
        return self.per_image is not None or bool(self.unit_rates)

    @property
    def unit_rates(self) -> dict[str, Decimal]:
        """Every rate but the per-image one, by the catalogue's price key."""
        named = {
            key: getattr(self, name) for name, key in NAMED_RATES.items() if getattr(self, name) is not None
        }
        return {**named, **(self.rates or {})}

    @property
    def version(self) -> str:
        return f"tenant-override/{self.provider}/{self.model}/r{self.revision}"

    def apply_discount(self, catalogue_cost: Decimal) -> Decimal:
        assert self.discount_percent is not None
        return catalogue_cost * (100 - self.discount_percent) / 100
