from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """What an event costs and which price data said so; ``cost_usd`` None means unpriced."""

    cost_usd: Decimal | None
    price_version: str

    @property
    def priced(self) -> bool:
        return self.cost_usd is not None


PRODUCER_VERSION = "producer"
UNPRICED_VERSION = "unpriced"
