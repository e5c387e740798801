"""A provider's own usage object, read with that provider's conventions (usage v1.1).

Producers that forward provider responses send the usage object exactly as the API returned it
(OpenAI's ``usage``, Anthropic's ``usage`` with ``cache_creation``, Gemini's ``usageMetadata``,
Bedrock Converse's ``usage``). The catalogue's own extractors read it (Anthropic's
``input_tokens`` excludes cache tokens and OpenAI's includes them; Gemini's thoughts are output),
so the service's usage is what the provider billed, not a producer's hand translation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_PROVIDER_USAGE_BYTES = 16 * 1024


def usage_from_provider(
    provider: str, api_flavor: str | None, provider_usage: Mapping[str, Any]
) -> dict[str, Any]:
    """The usage keys the provider's object reports (non-zero). Raises ValueError naming what is
    wrong: an unknown provider or API flavour, or an object the provider's extractor cannot read."""
    if len(json.dumps(provider_usage, separators=(",", ":"))) > MAX_PROVIDER_USAGE_BYTES:
        raise ValueError(f"provider_usage holds at most {MAX_PROVIDER_USAGE_BYTES} bytes")
    from genai_prices.data_snapshot import get_snapshot

    from budget_core.domain.usage.units import USAGE_KEY_ANCESTORS

    try:
        provider_info = get_snapshot().find_provider(None, provider, None)
    except LookupError:
        raise ValueError(f"no usage conventions are known for provider '{provider}'") from None
    flavors = {extractor.api_flavor: extractor for extractor in provider_info.extractors or ()}
    if not flavors:
        raise ValueError(f"no usage conventions are known for provider '{provider}'")
    flavor = api_flavor or "default"
    extractor = flavors.get(flavor)
    if extractor is None:
        raise ValueError(f"api_flavor '{flavor}' is not one of {provider}'s: {', '.join(sorted(flavors))}")
    # the extractor reads a whole response: the usage object goes where the response holds it
    response: Any = dict(provider_usage)
    root = extractor.root
    for part in reversed([root] if isinstance(root, str) else list(root)):
        response = {part: response}
    try:
        _, usage = provider_info.extract_usage(response, api_flavor=flavor)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"provider_usage is not {provider}'s {flavor} usage: {error}") from None
    return {key: value for key, value in vars(usage).items() if value and key in USAGE_KEY_ANCESTORS}
