"""The service's rules for a usage event, applied when it is recorded: a ValueError naming the
field, instead of an event that leaves the process and lands in the dead-letter queue."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from budget_sdk.usage_keys import FRACTIONAL_KEYS, IMAGE_KEYS, USAGE_KEY_ANCESTORS

EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ATTRIBUTE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
NAME = re.compile(r"^[A-Za-z0-9._:/@+-]{1,128}$")
KINDS = ("llm", "image", "custom")
SERVICE_TIERS = ("default", "flex", "batch", "priority")
NOT_A_TENANT = ("null", "none", "undefined", "nil")
MAX_METADATA_PAIRS = 20


def validate_event(event: Mapping[str, Any]) -> None:
    """Raises ValueError naming the first field the service would refuse."""
    _match(event, "event_id", EVENT_ID, required=True)
    tenant = event.get("tenant_id")
    if tenant is not None and str(tenant).lower() in NOT_A_TENANT:
        raise ValueError(f"tenant_id: {tenant!r} is not a tenant")
    _match(event, "tenant_id", TENANT)
    if event.get("kind") not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}, not {event.get('kind')!r}")
    for name in ("provider", "model", "operation"):
        _match(event, name, NAME)
    for name in ("user_id", "team_id", "api_key_id", "project_id"):
        _match(event, name, ATTRIBUTE)
    _match(event, "reservation_id", EVENT_ID)
    if event["kind"] != "custom":
        missing = [name for name in ("provider", "model") if not event.get(name)]
        if missing:
            raise ValueError(f"{' and '.join(missing)}: '{event['kind']}' events need them")
    tier = event.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        raise ValueError(f"service_tier: one of {', '.join(SERVICE_TIERS)}, not {tier!r}")
    if event.get("usage") is not None and event.get("provider_usage") is not None:
        raise ValueError("usage: give usage or provider_usage, not both")
    if event.get("provider_usage") is not None and not isinstance(event["provider_usage"], Mapping):
        raise ValueError("provider_usage: the provider's usage object (a mapping)")
    validate_usage(event.get("usage") or {})
    metadata = event.get("metadata") or {}
    if len(metadata) > MAX_METADATA_PAIRS:
        raise ValueError(f"metadata: at most {MAX_METADATA_PAIRS} pairs")


def validate_usage(usage: Mapping[str, Any]) -> None:
    unknown = sorted(k for k in usage if k not in USAGE_KEY_ANCESTORS and k not in IMAGE_KEYS)
    if unknown:
        raise ValueError(f"usage.{unknown[0]}: not a usage key of the service")
    counts: dict[str, Decimal] = {}
    for key, value in usage.items():
        if key in ("image_size", "image_quality"):
            continue
        counts[key] = _count(key, value)
    for key, part in counts.items():
        for whole in USAGE_KEY_ANCESTORS.get(key, ()):
            if part > counts.get(whole, Decimal(0)):
                hint = (
                    " (Anthropic's input_tokens leaves cache tokens out: send its usage as provider_usage)"
                    if whole == "input_tokens" and key.startswith("cache_")
                    else ""
                )
                raise ValueError(f"usage.{key}: {part} is part of {whole} ({counts.get(whole, 0)}){hint}")
    cached = counts.get("cache_read_tokens", Decimal(0)) + counts.get("cache_write_tokens", Decimal(0))
    if cached > counts.get("input_tokens", Decimal(0)):
        raise ValueError(
            "usage.input_tokens: includes cache_read_tokens and cache_write_tokens and cannot be smaller"
            " (Anthropic's input_tokens leaves them out: send its usage as provider_usage)"
        )


def _count(key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or (isinstance(value, float) and key not in FRACTIONAL_KEYS):
        raise ValueError(f"usage.{key}: a whole number, not {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"usage.{key}: a number, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"usage.{key}: at least 0, not {value!r}")
    if key not in FRACTIONAL_KEYS and amount != amount.to_integral_value():
        raise ValueError(f"usage.{key}: a whole number, not {value!r}")
    return amount


def _match(event: Mapping[str, Any], name: str, pattern: re.Pattern[str], required: bool = False) -> None:
    value = event.get(name)
    if value is None:
        if required:
            raise ValueError(f"{name}: required")
        return
    if not isinstance(value, str) or pattern.match(value) is None:
        raise ValueError(f"{name}: {value!r} does not match {pattern.pattern}")
