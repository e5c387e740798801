"""A rollup's breakdown by label stays within its room, whatever the labels (invariant 10)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from budget_core.adapters.usage.rollup_labels import (
    HARD_ROOM,
    USED_ATTRIBUTE,
    KnownLabels,
    LabelMemory,
    entry_bytes,
    known_from_item,
    label_of,
    plan_labels,
    stem_of,
)
from budget_core.domain.usage.accounting import Breakdown, UsageLabel


def _label(model: str, operation: str = "chat") -> UsageLabel:
    return UsageLabel("openai", model, "llm", operation)


def _spend(cost: str, events: int = 1, unpriced: int = 0) -> Breakdown:
    return Breakdown(Decimal(cost), events, unpriced)


def _costs(added: dict[str, Decimal | int]) -> dict[str, Decimal | int]:
    return {name[:-2]: value for name, value in added.items() if name.endswith("#c")}


def test_a_label_is_spelled_and_read_back_the_same() -> None:
    label = UsageLabel(None, "gpt-4o", "llm", "chat.completions")
    assert stem_of(label) == "j#|gpt-4o|llm|chat.completions"
    assert label_of(stem_of(label)) == label


def test_new_labels_are_admitted_while_there_is_room_and_the_rest_get_no_entry() -> None:
    # Given room for exactly two entries, and three new labels of one commit
    labels = {_label("a"): _spend("3"), _label("b"): _spend("2", 2, 1), _label("c"): _spend("1")}
    room = entry_bytes(stem_of(_label("a"))) * 2
    # When the update is planned on an empty item
    plan = plan_labels(labels, set(), KnownLabels(), room)
    # Then the two most costly are admitted as new; the third is in the totals only ("other")
    assert plan.claimed == [stem_of(_label("a")), stem_of(_label("b"))]
    assert _costs(plan.added) == {stem_of(_label("a")): Decimal(3), stem_of(_label("b")): Decimal(2)}
    assert plan.added[f"{stem_of(_label('b'))}#n"] == 2
    assert plan.added[f"{stem_of(_label('b'))}#u"] == 1
    # And the condition leaves no room for a writer that filled the item meanwhile
    assert plan.added[USED_ATTRIBUTE] == room
    assert plan.used_limit == 0


def test_known_labels_are_added_to_without_a_claim_even_when_the_item_is_full() -> None:
    known = KnownLabels({stem_of(_label("a"))}, used=1024)
    plan = plan_labels({_label("a"): _spend("1"), _label("z"): _spend("2")}, set(), known, room=1024)
    assert plan.claimed == []
    assert plan.used_limit is None
    assert USED_ATTRIBUTE not in plan.added
    assert _costs(plan.added) == {stem_of(_label("a")): Decimal(1)}


def test_a_label_a_filtered_policy_counted_keeps_its_entry_past_the_room() -> None:
    # Given a full item, and a label that a model-filtered policy counted
    kept = _label("filtered")
    plan = plan_labels(
        {kept: _spend("1"), _label("free"): _spend("5")}, {kept}, KnownLabels(set(), 1024), 1024
    )
    # Then the kept label gets its own entry, bounded by the hard room, and the free one none
    assert plan.claimed == [stem_of(kept)]
    assert plan.used_limit == HARD_ROOM - entry_bytes(stem_of(kept))
    assert _costs(plan.added) == {stem_of(kept): Decimal(1)}


def test_what_a_writer_learns_from_an_item_is_what_it_holds() -> None:
    item = {"j#a|b|llm|c#c": Decimal(1), "j#a|b|llm|c#n": 1, "lb": 300, "cost_usd": 3}
    known = known_from_item(item)
    assert known.stems == {"j#a|b|llm|c"}
    assert known.used == 300


def test_the_memory_of_items_is_bounded() -> None:
    memory = LabelMemory(max_items=2)
    for index in range(3):
        memory.remember(("pk", str(index)), KnownLabels({"j#x"}, index))
    assert memory.get(("pk", "0")) == KnownLabels()
    assert memory.get(("pk", "2")).used == 2


label_text = st.text(alphabet="abcdefghij-._", min_size=1, max_size=128)


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(
        st.dictionaries(st.tuples(label_text, label_text), st.integers(1, 1000), min_size=1, max_size=40),
        min_size=1,
        max_size=8,
    ),
    room=st.sampled_from([1024, 4096]),
)
def test_an_item_never_passes_its_room_and_its_entries_always_add_up(
    batches: list[dict[tuple[str, str], int]], room: int
) -> None:
    # Given one writer committing batch after batch of arbitrary labels into one item
    item: dict[str, Decimal | int] = {}
    memory = LabelMemory()
    total = Decimal(0)
    for batch in batches:
        breakdown = {_label(model, op): _spend(str(cost)) for (model, op), cost in batch.items()}
        plan = plan_labels(breakdown, set(), memory.get(("pk", "sk")), room)
        # When the item is updated as DynamoDB would, the condition checked first
        if plan.claimed:
            assert int(item.get(USED_ATTRIBUTE, 0)) <= int(plan.used_limit or 0)
            assert all(f"{stem}#c" not in item for stem in plan.claimed)
        for name, value in plan.added.items():
            item[name] = item.get(name, 0) + value
        memory.committed(("pk", "sk"), plan)
        total += sum((Decimal(c) for c in batch.values()), Decimal(0))
    # Then the entries take no more than the room, and never hold more than the total
    entries = {name[:-2] for name in item if name.endswith("#c")}
    assert sum(entry_bytes(stem) for stem in entries) == item.get(USED_ATTRIBUTE, 0) <= room
    assert sum(Decimal(v) for n, v in item.items() if n.endswith("#c")) <= total
