"""Per-image prices for image-generation models, which genai-prices does not carry.

Every figure names its source. Prices are USD per generated image. Where a model's price depends
on size and quality, the table is keyed by (quality, size); ``defaults`` says what the provider
does when the request leaves them out. OpenAI's ``auto`` quality lets the provider pick, so it is
priced as the dearest quality: a budget should over-estimate rather than under-estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

IMAGE_PRICES_VERSION = "image-prices/2026-11-01"


@dataclass(frozen=True)
class ImageModelPrice:
    source: str
    flat: Decimal | None = None
    by_quality_and_size: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    default_quality: str | None = None
    default_size: str | None = None
    quality_aliases: dict[str, str] = field(default_factory=dict)
    size_aliases: dict[str, str] = field(default_factory=dict)

    def per_image(self, quality: str | None, size: str | None) -> Decimal | None:
        if self.flat is not None:
            return self.flat
        chosen_quality = quality or self.default_quality or ""
        chosen_quality = self.quality_aliases.get(chosen_quality, chosen_quality)
        chosen_size = size or self.default_size or ""
        chosen_size = self.size_aliases.get(chosen_size, chosen_size)
        return self.by_quality_and_size.get((chosen_quality, chosen_size))


def _d(value: str) -> Decimal:
    return Decimal(value)


_OPENAI = "https://openai.com/api/pricing/ (image generation), read 2026-11-01"
_GOOGLE = "https://ai.google.dev/gemini-api/docs/pricing (Imagen), read 2026-11-01"
_STABILITY = "https://platform.stability.ai/pricing (1 credit = $0.01), read 2026-11-01"
_BFL = "https://docs.bfl.ai/quick_start/pricing, read 2026-11-01"
_BEDROCK = "https://aws.amazon.com/bedrock/pricing/ (image models, on demand), read 2026-11-01"


def _gpt_image(
    low: tuple[str, str, str], medium: tuple[str, str, str], high: tuple[str, str, str]
) -> ImageModelPrice:
    sizes = ("1024x1024", "1024x1536", "1536x1024")
    table = {}
    for quality, prices in (("low", low), ("medium", medium), ("high", high)):
        for size, price in zip(sizes, prices, strict=True):
            table[(quality, size)] = _d(price)
    return ImageModelPrice(
        source=_OPENAI,
        by_quality_and_size=table,
        default_quality="auto",
        # the API's default size is "auto" (the model picks): priced as the dearest size, as "auto"
        # quality is priced as the dearest quality
        default_size="auto",
        quality_aliases={"auto": "high", "standard": "medium", "hd": "high"},
        size_aliases={"auto": "1536x1024"},
    )


# (provider, model) -> price. Model ids as the providers' APIs name them.
IMAGE_PRICES: dict[tuple[str, str], ImageModelPrice] = {
    ("openai", "dall-e-2"): ImageModelPrice(
        source=_OPENAI,
        by_quality_and_size={
            ("standard", "256x256"): _d("0.016"),
            ("standard", "512x512"): _d("0.018"),
            ("standard", "1024x1024"): _d("0.020"),
        },
        default_quality="standard",
        default_size="1024x1024",
    ),
    ("openai", "dall-e-3"): ImageModelPrice(
        source=_OPENAI,
        by_quality_and_size={
            ("standard", "1024x1024"): _d("0.040"),
            ("standard", "1024x1792"): _d("0.080"),
            ("standard", "1792x1024"): _d("0.080"),
            ("hd", "1024x1024"): _d("0.080"),
            ("hd", "1024x1792"): _d("0.120"),
            ("hd", "1792x1024"): _d("0.120"),
        },
        default_quality="standard",
        default_size="1024x1024",
    ),
    ("openai", "gpt-image-1"): _gpt_image(
        low=("0.011", "0.016", "0.016"), medium=("0.042", "0.063", "0.063"), high=("0.167", "0.25", "0.25")
    ),
    ("openai", "gpt-image-1-mini"): _gpt_image(
        low=("0.005", "0.006", "0.006"), medium=("0.011", "0.015", "0.015"), high=("0.036", "0.052", "0.052")
    ),
    ("google", "imagen-3.0-generate-002"): ImageModelPrice(source=_GOOGLE, flat=_d("0.03")),
    ("google", "imagen-4.0-generate-001"): ImageModelPrice(source=_GOOGLE, flat=_d("0.04")),
    ("google", "imagen-4.0-fast-generate-001"): ImageModelPrice(source=_GOOGLE, flat=_d("0.02")),
    ("google", "imagen-4.0-ultra-generate-001"): ImageModelPrice(source=_GOOGLE, flat=_d("0.06")),
    ("stability", "stable-image-ultra"): ImageModelPrice(source=_STABILITY, flat=_d("0.08")),
    ("stability", "stable-image-core"): ImageModelPrice(source=_STABILITY, flat=_d("0.03")),
    ("stability", "sd3.5-large"): ImageModelPrice(source=_STABILITY, flat=_d("0.065")),
    ("stability", "sd3.5-large-turbo"): ImageModelPrice(source=_STABILITY, flat=_d("0.04")),
    ("stability", "sd3.5-medium"): ImageModelPrice(source=_STABILITY, flat=_d("0.035")),
    ("bfl", "flux-pro-1.1"): ImageModelPrice(source=_BFL, flat=_d("0.04")),
    ("bfl", "flux-pro-1.1-ultra"): ImageModelPrice(source=_BFL, flat=_d("0.06")),
    ("bfl", "flux-dev"): ImageModelPrice(source=_BFL, flat=_d("0.025")),
    ("aws", "amazon.titan-image-generator-v2:0"): ImageModelPrice(
        source=_BEDROCK,
        by_quality_and_size={
            ("standard", "512x512"): _d("0.008"),
            ("standard", "1024x1024"): _d("0.01"),
            ("premium", "512x512"): _d("0.01"),
            ("premium", "1024x1024"): _d("0.012"),
        },
        default_quality="standard",
        default_size="1024x1024",
        quality_aliases={"hd": "premium"},
    ),
    ("aws", "amazon.nova-canvas-v1:0"): ImageModelPrice(
        source=_BEDROCK,
        by_quality_and_size={
            ("standard", "1024x1024"): _d("0.04"),
            ("premium", "1024x1024"): _d("0.06"),
            ("standard", "2048x2048"): _d("0.06"),
            ("premium", "2048x2048"): _d("0.08"),
        },
        default_quality="standard",
        default_size="1024x1024",
        quality_aliases={"hd": "premium"},
    ),
}


# A dated snapshot id (gpt-image-1-2025-04-15, or -20250415) is priced as its model.
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


def image_price(provider: str, model: str) -> ImageModelPrice | None:
    key = (provider.lower(), model.lower())
    return IMAGE_PRICES.get(key) or IMAGE_PRICES.get((key[0], _DATED.sub("", key[1])))
