"""Token prices from genai-prices, with a fast path that keeps pricing off the CPU budget.

``calc_price`` costs ~110 µs per call (it resolves the model every time), ten times the whole
per-event budget. The model's rates are resolved once per (provider, model, day) and the plain
linear case is computed here; anything else (a tier crossed, a token kind the model has no rate
for) goes to ``calc_price`` itself, so the library stays the authority on every edge case. A
property test checks the fast path against ``calc_price``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from budget_core.domain.usage.event import TokenAndImageUsage

_MILLION = Decimal(1_000_000)


def catalogue_version() -> str:
    from genai_prices import __version__

    return f"genai-prices/{__version__}"


@dataclass(frozen=True)
class _Rates:
    """Per-million-token rates; None where the model has no such rate or it is not a plain number."""

    input: Decimal | None
    output: Decimal | None
    cache_read: Decimal | None
    cache_write: Decimal | None
    first_tier_start: int | None

    def linear_cost(self, usage: TokenAndImageUsage) -> Decimal | None:
        if self.first_tier_start is not None and usage.input_tokens >= self.first_tier_start:
            return None
        uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        total = Decimal(0)
        for tokens, rate in (
            (uncached, self.input),
            (usage.output_tokens, self.output),
            (usage.cache_read_tokens, self.cache_read),
            (usage.cache_write_tokens, self.cache_write),
        ):
            if tokens:
                if rate is None:
                    return None
                total += tokens * rate
        return total / _MILLION


def _rate(value: Any) -> tuple[Decimal | None, int | None]:
    if value is None or isinstance(value, Decimal):
        return value, None
    base, tiers = getattr(value, "base", None), getattr(value, "tiers", None)
    if isinstance(base, Decimal) and tiers:
        return base, min(int(t.start) for t in tiers)
    return None, None


class TokenCatalogue:
    def __init__(self) -> None:
        self._rates: dict[tuple[str, str, date], _Rates | None] = {}

    def cost(self, provider: str, model: str, usage: TokenAndImageUsage, at: datetime) -> Decimal | None:
        key = (provider, model, at.date())
        if key not in self._rates:
            self._rates[key] = self._resolve(provider, model, at)
        rates = self._rates[key]
        if rates is None:
            return None
        fast = rates.linear_cost(usage)
        return fast if fast is not None else self._library_cost(provider, model, usage, at)

    def _resolve(self, provider: str, model: str, at: datetime) -> _Rates | None:
        from genai_prices import Usage, calc_price

        try:
            model_price = calc_price(
                Usage(input_tokens=1, output_tokens=1),
                model,
                provider_id=provider,
                genai_request_timestamp=at,
            ).model_price
        except LookupError:
            return None
        token_rates = {f"{name}_mtok" for name in ("input", "output", "cache_read", "cache_write")}
        # searches and audio cost nothing for a usage that has none; anything else (a fee per
        # request, say) is for calc_price to apply
        free_here = token_rates | {
            "cache_write_1h_mtok",  # our usage reports 5-minute cache writes only
            "web_searches_kcount",
            "storage_searches_kcount",
            "input_audio_mtok",
            "output_audio_mtok",
            "cache_audio_read_mtok",
        }
        if any(value is not None for name, value in vars(model_price).items() if name not in free_here):
            return _Rates(None, None, None, None, first_tier_start=0)
        rates = {
            name: _rate(getattr(model_price, f"{name}_mtok", None))
            for name in ("input", "output", "cache_read", "cache_write")
        }
        tier_starts = [start for _, start in rates.values() if start is not None]
        return _Rates(
            input=rates["input"][0],
            output=rates["output"][0],
            cache_read=rates["cache_read"][0],
            cache_write=rates["cache_write"][0],
            first_tier_start=min(tier_starts) if tier_starts else None,
        )

    @staticmethod
    def _library_cost(provider: str, model: str, usage: TokenAndImageUsage, at: datetime) -> Decimal:
        from genai_prices import Usage, calc_price

        result = calc_price(
            Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
            ),
            model,
            provider_id=provider,
            genai_request_timestamp=at,
        )
        return Decimal(result.total_price)
