"""DynamoDB item size as billed (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
CapacityUnitCalculations.html): attribute names plus values; numbers about 1 byte per 2 significant
digits plus 1; maps and lists 3 bytes plus 1 per element."""

from __future__ import annotations

import math
from typing import Any


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "B":
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    raise ValueError(kind)


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def write_units(size_bytes: int, transactional: bool) -> int:
    units = max(1, math.ceil(size_bytes / 1024))
    return units * 2 if transactional else units
