"""Prices by usage unit from genai-prices, with a fast path that keeps pricing off the CPU budget.

``calc_price`` costs ~240 µs per call (it re-validates the price structure and infers every usage
key each time), twenty times the whole per-event budget. Here a model is resolved once (bounded
caches, misses apart so a flood of unknown names never evicts the known ones), its price once per
(service tier, UTC day, time-of-day segment) — a price changes only at a start date (midnight UTC)
or at a time-of-day boundary, so a segment key is exact — and the common case is computed here:
text tokens, cache reads, 5-minute and 1-hour cache writes, reasoning, a fee per request, below
every tier. Anything else (audio, images, characters, seconds, pages, a tier crossed) goes to the
library with the same resolved price, so the library stays the authority on every edge case. A
property test holds the fast path equal to ``calc_price``.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Generic, TypeVar

from budget_core.domain.usage.event import TokenAndImageUsage
from budget_core.domain.usage.pricing.corrections import corrected_model_ref, corrected_price

K = TypeVar("K")
V = TypeVar("V")

# The usage keys the fast path computes: their priced units never overlap (no join unit between
# any two of them), so each leaf is its count less its priced descendants'.
FAST_USAGE_KEYS = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_reasoning_tokens",
    }
)
# Service tiers as the catalogue's price context names them.
TIER_CONTEXTS: dict[str, dict[str, str]] = {
    "default": {},
    "flex": {"service_tier": "flex"},
    "priority": {"service_tier": "priority"},
    "batch": {"processing": "batch"},
}
MODELS_KEPT = 4096
UNKNOWN_MODELS_KEPT = 1024
PRICES_KEPT = 4096


def catalogue_version() -> str:
    from genai_prices import __version__

    return f"genai-prices/{__version__}"


class BoundedCache(Generic[K, V]):
    """Least recently used first out, at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class _Unit:
    usage_key: str
    family: str  # tokens, characters, durations, document_pages...
    per: Decimal
    rate: Decimal | None  # None: tiered (its base is in ``base``)
    base: Decimal | None
    descendants: tuple[int, ...]  # indexes, in evaluation order, of its priced descendants


@dataclass(frozen=True)
class ResolvedPrice:
    """One model's price at one tier and time segment, laid out for the fast path."""

    model_price: Any  # genai_prices.types.ModelPrice
    units: tuple[_Unit, ...]  # most specific first, as the library evaluates them
    fee_per_request: Decimal
    first_tier_start: int | None
    fast: bool  # False: a price the fast path cannot lay out (a tiered fee); the library prices all
    corrected: bool  # the project's correction table changed the catalogue's price
    context: dict[str, str]  # the catalogue's price context of the service tier
    # (usage key, per, base rate, indexes of its priced descendants) of the fast keys' units
    fast_units: tuple[tuple[str, Decimal, Decimal, tuple[int, ...]], ...] = ()

    def billed_by_other_units(self, reported: dict[str, Any]) -> list[str]:
        """The units this price charges for when it charges nothing for any family of unit that
        ``reported`` has (a model billed by characters, for a token count); else nothing."""
        from genai_prices.units import _get_registry

        units = _get_registry().units
        charged = {unit.usage_key: unit.family for unit in self.units if (unit.rate or unit.base or 0) > 0}
        reported_families = {units[key].dimensions["family"] for key in reported}
        if not charged or reported_families & set(charged.values()):
            return []
        return sorted(charged)

    def linear_cost(self, reported: dict[str, Any]) -> Decimal | None:
        if not self.fast or not reported.keys() <= FAST_USAGE_KEYS:
            return None
        if self.first_tier_start is not None and reported.get("input_tokens", 0) > self.first_tier_start:
            return None
        # only the fast keys' units: every other priced unit counts 0 (none of its ancestors' parts)
        leaves: list[int] = []
        total = self.fee_per_request
        for usage_key, per, rate, descendants in self.fast_units:
            leaf = reported.get(usage_key, 0)
            for index in descendants:
                leaf -= leaves[index]
            if leaf < 0:
                return None  # inconsistent for this model: the library says why
            leaves.append(leaf)
            if leaf:
                total += leaf * rate / per
        return total


class ModelNotPriced(LookupError):
    """The usage is one this model's price cannot be applied to (the library's reason)."""


class TokenCatalogue:
    def __init__(self) -> None:
        self._models: BoundedCache[tuple[str, str], tuple[Any, Any]] = BoundedCache(MODELS_KEPT)
        self._unknown: BoundedCache[tuple[str, str], bool] = BoundedCache(UNKNOWN_MODELS_KEPT)
        self._cuts: BoundedCache[int, tuple[time, ...]] = BoundedCache(MODELS_KEPT)
        self._prices: BoundedCache[tuple[Any, ...], ResolvedPrice] = BoundedCache(PRICES_KEPT)

    def cost(
        self,
        provider: str,
        model: str,
        usage: TokenAndImageUsage,
        at: datetime,
        service_tier: str | None = None,
    ) -> Decimal | None:
        """The cost of ``usage``, or None when the catalogue does not know the model. Raises
        ModelNotPriced when the model is known but this usage cannot be priced by it."""
        resolved = self.resolve(provider, model)
        if resolved is None:
            return None
        price = self._price(resolved, at, service_tier)
        reported = usage.reported()
        cost = price.linear_cost(reported)
        if cost is None:
            cost = self._library_cost(resolved, price, reported, at)
        if not cost and reported:
            billed_by = price.billed_by_other_units(reported)
            if billed_by:
                # a model billed by characters, seconds or pages is not free for a token count
                raise ModelNotPriced(f"priced by {', '.join(billed_by)}, which the event does not report")
        return cost

    def resolve(self, provider: str, model: str) -> tuple[Any, Any] | None:
        """(provider, model info) of the catalogue, with the project's corrections, or None."""
        key = (provider, model)
        found = self._models.get(key)
        if found is not None:
            return found
        if self._unknown.get(key):
            return None
        from genai_prices.data_snapshot import get_snapshot

        try:
            found = get_snapshot().find_provider_model(
                corrected_model_ref(provider, model), None, provider, None
            )
        except LookupError:
            self._unknown.put(key, True)
            return None
        self._models.put(key, found)
        return found

    def cache_sizes(self) -> dict[str, int]:
        return {
            "models": len(self._models),
            "unknown_models": len(self._unknown),
            "prices": len(self._prices),
        }

    def canonical_model(self, provider: str, model: str) -> str | None:
        resolved = self.resolve(provider, model)
        return None if resolved is None else str(resolved[1].id)

    def _price(self, resolved: tuple[Any, Any], at: datetime, service_tier: str | None) -> ResolvedPrice:
        provider_info, model_info = resolved
        moment = at.astimezone(UTC)
        cuts = self._segment_cuts(model_info)
        segment = bisect.bisect_right(cuts, moment.timetz()) if cuts else 0
        key = (provider_info.id, model_info.id, service_tier or "default", moment.date(), segment)
        price = self._prices.get(key)
        if price is None:
            price = self._lay_out(provider_info, model_info, moment, service_tier)
            self._prices.put(key, price)
        return price

    def _segment_cuts(self, model_info: Any) -> tuple[time, ...]:
        """The UTC times of day at which this model's price may change (its time-of-day bounds)."""
        cuts = self._cuts.get(id(model_info))
        if cuts is None:
            constraints = (
                [c.constraint for c in model_info.prices] if isinstance(model_info.prices, list) else []
            )
            constraints += [v.constraint for v in model_info.price_variants or ()]
            found: set[time] = set()
            for constraint in constraints:
                for bound in (getattr(constraint, "start_time", None), getattr(constraint, "end_time", None)):
                    if bound is not None:
                        found.add(_utc_time_of_day(bound))
            cuts = tuple(sorted(found))
            self._cuts.put(id(model_info), cuts)
        return cuts

    @staticmethod
    def _lay_out(
        provider_info: Any, model_info: Any, at: datetime, service_tier: str | None
    ) -> ResolvedPrice:
        from genai_prices.units import _get_registry

        context = TIER_CONTEXTS.get(service_tier or "default", {})
        # as the library does: a model borrowed from another provider takes no price context
        own_model = any(model_info is m for m in provider_info.models)
        catalogue_price = model_info.get_prices(at, context if own_model else None)
        model_price = corrected_price(provider_info.id, model_info.id, catalogue_price)
        registry = _get_registry()
        priced: list[tuple[Any, Any]] = []
        fee = Decimal(0)
        fast = True
        for price_key, value in vars(model_price).items():
            if value is None or price_key.startswith("_"):
                continue
            unit = registry.unit_for_price_key(price_key)
            if unit.usage_key == "requests":
                if not isinstance(value, Decimal):
                    fast = False
                else:
                    fee = value / unit.per
                continue
            priced.append((unit, value))
        priced.sort(key=lambda pair: (-len(pair[0].dimensions), pair[0].usage_key))
        units: list[_Unit] = []
        tier_starts: list[int] = []
        for index, (unit, value) in enumerate(priced):
            descendants = tuple(
                j
                for j, (other, _) in enumerate(priced[:index])
                if unit.dimensions.items() <= other.dimensions.items()
            )
            if isinstance(value, Decimal):
                rate, base = value, None
            else:
                rate, base = None, getattr(value, "base", None)
                tier_starts.extend(int(t.start) for t in getattr(value, "tiers", ()))
                if not isinstance(base, Decimal):
                    fast = False
            units.append(
                _Unit(unit.usage_key, unit.dimensions["family"], Decimal(unit.per), rate, base, descendants)
            )
        fast_units: list[tuple[str, Decimal, Decimal, tuple[int, ...]]] = []
        positions: dict[int, int] = {}
        for index, laid_out in enumerate(units):
            base_rate = laid_out.rate if laid_out.rate is not None else laid_out.base
            if laid_out.usage_key in FAST_USAGE_KEYS and base_rate is not None:
                positions[index] = len(fast_units)
                inner = tuple(positions[j] for j in laid_out.descendants if j in positions)
                fast_units.append((laid_out.usage_key, laid_out.per, base_rate, inner))
        # a priced unit outside the fast keys only costs nothing when the event has none of it;
        # linear_cost checks the event's keys, so it is safe to lay such a price out
        return ResolvedPrice(
            model_price=model_price,
            units=tuple(units),
            fee_per_request=fee,
            first_tier_start=min(tier_starts) if tier_starts else None,
            fast=fast,
            corrected=model_price is not catalogue_price,
            context=context,
            fast_units=tuple(fast_units),
        )

    @staticmethod
    def _library_cost(
        resolved: tuple[Any, Any],
        price: ResolvedPrice,
        reported: dict[str, Any],
        at: datetime,
    ) -> Decimal:
        from genai_prices import Usage

        provider_info, model_info = resolved
        usage = Usage(**reported)
        try:
            if price.corrected:
                return Decimal(price.model_price.calc_price(usage)["total_price"])
            result = model_info.calc_price(
                usage, provider_info, genai_request_timestamp=at, price_context=price.context or None
            )
        except ValueError as error:
            raise ModelNotPriced(str(error)) from error
        return Decimal(result.total_price)


def _utc_time_of_day(value: time) -> time:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return datetime.combine(date(1970, 1, 1), value).astimezone(UTC).timetz()
