"""Prices one usage event. Order of authority: the producer's ``cost_usd``, the tenant's own
rates, the catalogue (minus the tenant's discount). Nothing known: unpriced, never $0."""

from __future__ import annotations

from collections.abc import Mapping

from budget_core.domain.policies.policy import UsageKind
from budget_core.domain.shared.money import round_money
from budget_core.domain.usage.event import TokenAndImageUsage, UsageEvent
from budget_core.domain.usage.pricing.image_prices import IMAGE_PRICES_VERSION, image_price
from budget_core.domain.usage.pricing.overrides import PriceOverride
from budget_core.domain.usage.pricing.own_rates import own_rates_cost
from budget_core.domain.usage.pricing.quote import PRODUCER_VERSION, UNPRICED_VERSION, PriceQuote
from budget_core.domain.usage.pricing.token_prices import ModelNotPriced, TokenCatalogue, catalogue_version

OverrideTable = Mapping[tuple[str, str], PriceOverride]


class Pricer:
    def __init__(self, tokens: TokenCatalogue | None = None) -> None:
        self._tokens = tokens or TokenCatalogue()
        self._token_version: str | None = None
        self._override_index: tuple[OverrideTable, dict[tuple[str, str], PriceOverride]] | None = None

    def quote(self, event: UsageEvent, overrides: OverrideTable) -> PriceQuote:
        """The event's price, rounded to MONEY_PLACES (half-even) before anything counts it."""
        quote = self._quote(event, overrides)
        if quote.cost_usd is None:
            return quote
        rounded = round_money(quote.cost_usd)
        return quote if rounded == quote.cost_usd else PriceQuote(rounded, quote.price_version)

    def _quote(self, event: UsageEvent, overrides: OverrideTable) -> PriceQuote:
        if event.cost_usd is not None:
            return PriceQuote(event.cost_usd, PRODUCER_VERSION)
        if event.provider is None or event.model is None:
            return PriceQuote(None, UNPRICED_VERSION)
        override = self._override(overrides, event.provider, event.model)
        if override is not None and override.has_own_rates:
            return _own_rates(event, override)
        catalogue = self._catalogue(event)
        if catalogue.cost_usd is None or override is None:
            return catalogue
        return PriceQuote(
            override.apply_discount(catalogue.cost_usd), f"{catalogue.price_version}+{override.version}"
        )

    def _override(self, overrides: OverrideTable, provider: str, model: str) -> PriceOverride | None:
        """The tenant's override for this model, matched as the catalogue matches names: a
        ``gpt-4o`` override covers ``GPT-4o`` and ``gpt-4o-2024-08-06``; a private model (one the
        catalogue does not know) is matched without regard to case."""
        if not overrides:
            return None
        exact = overrides.get((provider, model))
        if exact is not None:
            return exact
        return self._by_model_identity(overrides).get((provider, self._identity(provider, model)))

    def model_identity(self, provider: str, model: str) -> str:
        """What a model name stands for: the catalogue's id, else the name without regard to case."""
        return self._identity(provider, model)

    def _identity(self, provider: str, model: str) -> str:
        return self._tokens.canonical_model(provider, model) or model.lower()

    def _by_model_identity(self, overrides: OverrideTable) -> dict[tuple[str, str], PriceOverride]:
        # one tenant's table at a time is the common case: its index is kept until another comes
        cached = self._override_index
        if cached is not None and cached[0] is overrides:
            return cached[1]
        index = {(p, self._identity(p, m)): o for (p, m), o in sorted(overrides.items())}
        self._override_index = (overrides, index)
        return index

    def _images(self, event: UsageEvent) -> PriceQuote:
        assert event.provider is not None
        assert event.model is not None
        usage = event.usage
        table_price = image_price(event.provider, event.model)
        per_image = (
            None if table_price is None else table_price.per_image(usage.image_quality, usage.image_size)
        )
        if per_image is None:
            # images the table cannot price are not free, whatever a token catalogue says
            return PriceQuote(None, UNPRICED_VERSION)
        cost = per_image * usage.images
        if not usage.input_tokens:
            return PriceQuote(cost, IMAGE_PRICES_VERSION)
        # an edit's prompt and input images are billed as tokens on top of the images made
        prompt = TokenAndImageUsage.model_validate(
            {k: v for k, v in usage.reported().items() if k.startswith(("input_", "cache_"))}
        )
        try:
            input_cost = self._tokens.cost(event.provider, event.model, prompt, event.timestamp)
        except ModelNotPriced:
            input_cost = None
        if input_cost is None:
            return PriceQuote(None, UNPRICED_VERSION)
        return PriceQuote(cost + input_cost, f"{IMAGE_PRICES_VERSION}+{self._version()}")

    def _version(self) -> str:
        if self._token_version is None:
            self._token_version = catalogue_version()
        return self._token_version

    def _catalogue(self, event: UsageEvent) -> PriceQuote:
        assert event.provider is not None
        assert event.model is not None
        usage = event.usage
        if usage.images and not usage.output_tokens:
            # images are priced by the image table whatever the kind says ("llm" included); an
            # image API that reports its output tokens is priced by them, below
            return self._images(event)
        if event.kind is UsageKind.CUSTOM:
            return PriceQuote(None, UNPRICED_VERSION)
        try:
            cost = self._tokens.cost(event.provider, event.model, usage, event.timestamp, event.service_tier)
        except ModelNotPriced:
            return PriceQuote(None, UNPRICED_VERSION)
        if cost is None:
            return PriceQuote(None, UNPRICED_VERSION)
        return PriceQuote(cost, self._version())


def _own_rates(event: UsageEvent, override: PriceOverride) -> PriceQuote:
    usage = event.usage
    cost = own_rates_cost(override.unit_rates, usage)
    if cost is None:
        return PriceQuote(None, UNPRICED_VERSION)
    if usage.images:
        if override.per_image is None:
            return PriceQuote(None, UNPRICED_VERSION)
        cost += usage.images * override.per_image
    return PriceQuote(cost, override.version)
