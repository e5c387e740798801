"""The breakdown by label inside a rollup item, bounded whatever the labels (invariant 10).

A rollup item keeps one entry per label (provider, model, kind and operation together): the
attributes ``j#{provider}|{model}|{kind}|{operation}#c`` (cost), ``#n`` (events) and ``#u``
(unpriced events, only once there is one). Labels are free-form, so an item admits entries only
while the bytes they take (``lb``, added with each admission) stay within its room. The spend of
the labels past it is in the item's totals and in no entry: "other" is what the totals hold beyond
the entries, so it needs no attribute and always adds up (a totals-only commit, the fallback of a
refused one, is "other" too).

Room is small on purpose. Every update of an item is billed by its whole size, and each commit
updates several rollup items: a scope's rollups keep to 1 KB of labels, the tenant-wide ones to
4 KB (~8 and ~33 labels of a realistic length a day; measured, 1.5 KB and 6 KB already cost a
fifth more write units per event with 1,000 distinct labels). A label that a policy with filters
counted is kept past the room (up to ``HARD_ROOM``) in the rollups that policy is seeded from, so
that it is seeded exactly.

Admission is decided by the writer, on what it knows of the item, and made safe by the
transaction's condition: every entry it adds as new must not exist yet and ``lb`` must leave room
for them. When another writer got there first the condition fails, the transaction returns the item
(``ALL_OLD``), and the writer learns the item's labels and tries again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from budget_core.domain.usage.accounting import Breakdown, UsageLabel

PREFIX = "j#"
USED_ATTRIBUTE = "lb"
SEPARATOR = "|"  # in no label's alphabet
ROOM_BY_DIMENSION = {"all": 4096}
SCOPE_ROOM = 1024
HARD_ROOM = 16 * 1024  # labels a filtered policy counted; an item stays far below 400 KB
VALUE_BYTES = 16  # what a number of the entry takes at most, counted with its name
FIELDS = ("c", "n")  # counted into lb; "u" is added on top, at most half as much again


def room_of(dimension: str) -> int:
    return ROOM_BY_DIMENSION.get(dimension, SCOPE_ROOM)


def stem_of(label: UsageLabel) -> str:
    parts = (label.provider or "", label.model or "", label.kind, label.operation or "")
    return PREFIX + SEPARATOR.join(parts)


def label_of(stem: str) -> UsageLabel:
    """The label of an entry's stem."""
    provider, model, kind, operation = stem[len(PREFIX) :].split(SEPARATOR)
    return UsageLabel(provider or None, model or None, kind, operation or None)


def entry_bytes(stem: str) -> int:
    return sum(len(f"{stem}#{name}".encode()) + VALUE_BYTES for name in FIELDS)


@dataclass
class KnownLabels:
    """What a writer knows of one rollup item: the entries in it and the room they take."""

    stems: set[str] = field(default_factory=set)
    used: int = 0


@dataclass
class LabelPlan:
    """One rollup update's breakdown: attributes to ADD, and the condition that makes it safe."""

    added: dict[str, Decimal | int] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)  # stems added as new: each must not exist yet
    used_limit: int | None = None  # lb must be at most this before the update (None: no claim)
    claimed_bytes: int = 0


def plan_labels(
    breakdown: dict[UsageLabel, Breakdown], kept: set[UsageLabel], known: KnownLabels, room: int
) -> LabelPlan:
    """Entries for ``breakdown``: known ones added to, new ones admitted while there is room
    (kept ones first, then by cost); the rest get none (their spend is "other")."""
    plan = LabelPlan()
    used = known.used
    free_bytes = 0
    order = sorted(
        breakdown.items(), key=lambda pair: (pair[0] not in kept, -pair[1].cost_usd, stem_of(pair[0]))
    )
    for label, spend in order:
        stem = stem_of(label)
        if stem not in known.stems:
            size = entry_bytes(stem)
            if used + size > (HARD_ROOM if label in kept else room):
                continue
            used += size
            plan.claimed.append(stem)
            plan.claimed_bytes += size
            if label not in kept:
                free_bytes += size
        _add(plan.added, stem, spend)
    if plan.claimed:
        # kept labels were admitted first: when any other was, the room is what the item must have
        plan.used_limit = (room if free_bytes else HARD_ROOM) - plan.claimed_bytes
        plan.added[USED_ATTRIBUTE] = plan.claimed_bytes
    return plan


def _add(added: dict[str, Decimal | int], stem: str, spend: Breakdown) -> None:
    added[f"{stem}#c"] = spend.cost_usd
    added[f"{stem}#n"] = spend.events
    if spend.unpriced_events:
        added[f"{stem}#u"] = spend.unpriced_events


def known_from_item(item: dict[str, Any]) -> KnownLabels:
    stems = {name[:-2] for name in item if name.startswith(PREFIX) and name.endswith("#c")}
    return KnownLabels(stems, int(item.get(USED_ATTRIBUTE, 0)))


class LabelMemory:
    """What this writer learnt of the rollup items it wrote, most recent first (bounded)."""

    def __init__(self, max_items: int = 4096) -> None:
        self._items: OrderedDict[tuple[str, str], KnownLabels] = OrderedDict()
        self._max = max_items

    def get(self, key: tuple[str, str]) -> KnownLabels:
        known = self._items.get(key)
        if known is None:
            return KnownLabels()
        self._items.move_to_end(key)
        return known

    def remember(self, key: tuple[str, str], known: KnownLabels) -> None:
        self._items[key] = known
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def committed(self, key: tuple[str, str], plan: LabelPlan) -> None:
        """The update went through: its claims are in the item now."""
        if not plan.claimed:
            return
        known = self.get(key)
        self.remember(key, KnownLabels(known.stems | set(plan.claimed), known.used + plan.claimed_bytes))
