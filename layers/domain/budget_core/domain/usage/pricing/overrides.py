"""Per-tenant prices: a negotiated discount on the catalogue, or rates for a private model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from budget_core.domain.policies.policy import FILTER_VALUE_PATTERN
from budget_core.domain.shared.money import Money

Rate = Annotated[Money, Field(ge=0, le=Decimal(1_000_000))]


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
    revision: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _one_kind_of_override(self) -> Self:
        has_rates = self.has_own_rates
        if has_rates == (self.discount_percent is not None):
            raise ValueError("give either discount_percent or the model's own rates, not both or neither")
        return self

    @property
    def has_own_rates(self) -> bool:
        return any(
            r is not None
            for r in (
                self.input_per_mtok,
                self.output_per_mtok,
                self.cache_read_per_mtok,
                self.cache_write_per_mtok,
                self.per_image,
            )
        )

    @property
    def version(self) -> str:
        return f"tenant-override/{self.provider}/{self.model}/r{self.revision}"

    def apply_discount(self, catalogue_cost: Decimal) -> Decimal:
        assert self.discount_percent is not None
        return catalogue_cost * (100 - self.discount_percent) / 100
