"""A private model's own rates, priced with the catalogue's own arithmetic.

The rates are the catalogue's price keys, so genai-prices' ``ModelPrice`` applies them exactly as it
applies a listed model's: each part (1-hour cache writes, audio input tokens) at its own rate when
it has one, else at its whole's (input tokens). A unit the event reports that neither it nor any of
its wholes has a rate for (seconds, characters, searches) makes the event unpriced: the library
would price it at $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from budget_core.domain.usage.event import TokenAndImageUsage
from budget_core.domain.usage.units import PRICE_KEY_UNITS, USAGE_KEY_ANCESTORS


def own_rates_cost(rates: Mapping[str, Decimal], usage: TokenAndImageUsage) -> Decimal | None:
    """The cost of ``usage``'s catalogue units at ``rates`` (images apart); None when a reported
    unit has no rate of its own or of a whole it is part of, or the library refuses the rates."""
    reported = usage.reported()
    if not reported:
        return Decimal(0)
    priced = {PRICE_KEY_UNITS[key] for key in rates}
    if any(key not in priced and priced.isdisjoint(USAGE_KEY_ANCESTORS[key]) for key in reported):
        return None
    from genai_prices import Usage
    from genai_prices.types import ModelPrice

    try:
        return Decimal(ModelPrice(**rates).calc_price(Usage(**reported))["total_price"])
    except ValueError:
        return None


def rates_problem(rates: Mapping[str, Decimal]) -> str | None:
    """Why the catalogue cannot apply ``rates`` (a part's rate without its whole's), or None."""
    if not rates:
        return None
    from genai_prices import Usage
    from genai_prices.types import ModelPrice

    try:
        ModelPrice(**rates).calc_price(Usage())
    except ValueError as error:
        return str(error)
    return None
