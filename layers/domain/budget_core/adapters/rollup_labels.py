"""The breakdown by label inside a rollup item, bounded whatever the labels (invariant 10).

A rollup item keeps one entry per label (provider, model, kind and operation together): the
attributes ``j#{provider}|{model}|{kind}|{operation}#c`` (cost), ``#n`` (events) and ``#u``
(unpriced events, only once there is one). Labels are free-form, so an item admits entries only
while the bytes they take (``lb``, added with each admission) stay within its room; the spend of
any other label adds to one entry, ``j#~`` ("other"), so the totals by label always add up.

Room is small on purpose. Every update of an item is billed by its whole size, and each commit
updates several rollup items: a scope's rollups keep to 1 KB of labels, the tenant-wide ones to
4 KB (two realistic days of one tenant: ~10 and ~40 labels). A label a policy with filters counted
is kept past the room (up to ``HARD_ROOM``), so that the policy can be seeded from it exactly.

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

from budget_core.domain.accounting import Breakdown, UsageLabel

PREFIX = "j#"
OTHER_STEM = "j#~"  # "~" is in no label's alphabet
USED_ATTRIBUTE = "lb"
SEPARATOR = "|"  # in no label's alphabet either
ROOM_BY_DIMENSION = {"all": 4096}
SCOPE_ROOM = 1024
HARD_ROOM = 32 * 1024  # labels a filtered policy counted; an item stays far below 400 KB
VALUE_BYTES = 16  # what a number of the entry takes at most, counted with its name
FIELDS = ("c", "n")  # counted into lb; "u" is added on top, at most half as much again


def room_of(dimension: str) -> int:
    return ROOM_BY_DIMENSION.get(dimension, SCOPE_ROOM)


def stem_of(label: UsageLabel) -> str:
    parts = (label.provider or "", label.model or "", label.kind, label.operation or "")
    return PREFIX + SEPARATOR.join(parts)


def label_of(stem: str) -> UsageLabel | None:
    """The label of an entry's stem; None for "other"."""
    if stem == OTHER_STEM:
        return None
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
    breakdown: dict[UsageLabel, Breakdown],
    kept: set[UsageLabel],
    known: KnownLabels,
    room: int,
    unlabelled: Breakdown | None = None,
) -> LabelPlan:
    """Entries for ``breakdown``: known ones added to, new ones admitted while there is room
    (kept ones first, then by cost), the rest, and ``unlabelled`` spend, added to "other"."""
    plan = LabelPlan()
    other = Breakdown()
    if unlabelled is not None:
        other.cost_usd, other.events = unlabelled.cost_usd, unlabelled.events
        other.unpriced_events = unlabelled.unpriced_events
    used = known.used
    kept_bytes = other_bytes = 0
    order = sorted(
        breakdown.items(), key=lambda pair: (pair[0] not in kept, -pair[1].cost_usd, stem_of(pair[0]))
    )
    for label, spend in order:
        stem = stem_of(label)
        if stem not in known.stems:
            size = entry_bytes(stem)
            limit = HARD_ROOM if label in kept else room
            if used + size > limit:
                other.cost_usd += spend.cost_usd
                other.events += spend.events
                other.unpriced_events += spend.unpriced_events
                continue
            used += size
            plan.claimed.append(stem)
            if label in kept:
                kept_bytes += size
            else:
                other_bytes += size
        _add(plan.added, stem, spend)
    if other.events:
        _add(plan.added, OTHER_STEM, other)
    if plan.claimed:
        plan.claimed_bytes = kept_bytes + other_bytes
        # kept labels were admitted first, so the room for the others is what decides when any
        plan.used_limit = (room if other_bytes else HARD_ROOM) - plan.claimed_bytes
        plan.added[USED_ATTRIBUTE] = plan.claimed_bytes
    return plan


def _add(added: dict[str, Decimal | int], stem: str, spend: Breakdown) -> None:
    added[f"{stem}#c"] = spend.cost_usd
    added[f"{stem}#n"] = spend.events
    if spend.unpriced_events:
        added[f"{stem}#u"] = spend.unpriced_events


def known_from_item(item: dict[str, Any]) -> KnownLabels:
    stems = {name[:-2] for name in item if name.startswith(PREFIX) and name.endswith("#c")}
    return KnownLabels(stems - {OTHER_STEM}, int(item.get(USED_ATTRIBUTE, 0)))


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
