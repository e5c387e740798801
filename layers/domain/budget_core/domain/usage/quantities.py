"""The quantities a usage event counts, declared once.

Each is a field of the event's ``usage``, of the in-memory totals, of a rollup row (and its item's
attribute of the same name), and of the summary's answer; the usage event's own item keeps it under
a short name. The accounting, the ledger, the rollup reader and the summary route all iterate over
this registry, and a test holds the models' fields to it: a new unit is added here first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str  # input_tokens: the usage field, totals field, rollup attribute and summary field
    event_attribute: str  # in: its name on the usage event's item (short: every event is stored)


COUNTED: tuple[Quantity, ...] = (
    Quantity("input_tokens", "in"),
    Quantity("output_tokens", "out"),
    Quantity("cache_read_tokens", "cr"),
    Quantity("cache_write_tokens", "cw"),
    Quantity("images", "img"),
)
COUNTED_NAMES: tuple[str, ...] = tuple(q.name for q in COUNTED)
