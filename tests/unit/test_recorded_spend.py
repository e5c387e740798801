"""What a new or re-scoped policy is seeded with, read from rollup rows of every vintage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from budget_core.domain.checks.seeding import MAX_REFINED_DAYS, recorded_spend, refined_spend
from budget_core.domain.policies.policy import NewPolicy, Policy
from budget_core.domain.usage.accounting import Granularity, UsageLabel
from budget_core.domain.usage.queries import RollupRow, Spend, rollup_rows

NOW = datetime(2026, 11, 29, 18, 20, tzinfo=UTC)


def _policy(**body: Any) -> Policy:
    new = NewPolicy.model_validate(
        {"name": "p", "limit_usd": "10", "period": "month", "scope": {"type": "tenant"}, **body}
    )
    return Policy(
        **new.model_dump(), policy_id="pol_1", tenant_id="t", version=1, created_at=NOW, updated_at=NOW
    )


def _spend(cost: str) -> Spend:
    return Spend(Decimal(cost), 1)


GPT = UsageLabel("openai", "gpt-4o", "llm", "chat")
IMAGE = UsageLabel("openai", "gpt-image-1", "image", "images")
CLAUDE = UsageLabel("anthropic", "claude-sonnet-4-5", "llm", "messages")


def test_labels_select_exactly_what_several_filters_name() -> None:
    row = RollupRow(
        "2026-11-28", Decimal(6), labels={GPT: _spend("2"), IMAGE: _spend("3"), CLAUDE: _spend("1")}
    )
    assert recorded_spend(_policy(filters={"provider": "openai", "kind": "image"}), [row]) == Decimal(3)
    assert recorded_spend(_policy(filters={"provider": "openai"}), [row]) == Decimal(5)
    assert recorded_spend(_policy(), [row]) == Decimal(6)


def test_spend_a_row_names_no_label_for_counts_for_a_filtered_policy() -> None:
    # Given a row whose labels past its room (or a totals-only commit) left $4 unnamed
    row = RollupRow("2026-11-28", Decimal(6), labels={GPT: _spend("2")})
    # Then a filtered policy counts it, towards its limit rather than past it
    assert recorded_spend(_policy(filters={"model": "claude-sonnet-4-5"}), [row]) == Decimal(4)


def _never_read(day: str) -> list[RollupRow]:
    raise AssertionError(f"{day}'s quarter hours were read")


def test_a_day_whose_row_spilled_is_read_again_from_its_quarter_hours() -> None:
    # Given a day whose row named only gpt-4o ($2 of $6), and its quarter hours, which named all
    day = RollupRow("2026-11-28", Decimal(6), labels={GPT: _spend("2")})
    quarters = {
        "2026-11-28": [
            RollupRow("2026-11-28T09:00", Decimal(4), labels={CLAUDE: _spend("1"), IMAGE: _spend("3")}),
            RollupRow("2026-11-28T17:45", Decimal(2), labels={GPT: _spend("2")}),
        ]
    }
    # When policies on claude, on images and on gpt-4o are seeded
    # Then each is seeded with exactly its own spend, not the $4 the day row left unnamed
    for filters, spend in (
        ({"model": "claude-sonnet-4-5"}, "1"),
        ({"kind": "image"}, "3"),
        ({"model": "gpt-4o"}, "2"),
    ):
        assert refined_spend(_policy(filters=filters), [day], quarters.__getitem__) == Decimal(spend)


def test_a_quarter_hour_that_spilled_too_keeps_the_lower_of_both_readings() -> None:
    # Given a day row naming claude ($1 of $6) and quarter hours that left $5 unnamed
    day = RollupRow("2026-11-28", Decimal(6), labels={CLAUDE: _spend("1")})
    quarters = [RollupRow("2026-11-28T09:00", Decimal(6), labels={GPT: _spend("1")})]
    # Then each policy gets the lower reading: claude $5 from the quarters (none named, $5 unnamed;
    # the day's says $1 + $5), gpt-4o $5 from the day (the quarters' says $1 + $5)
    claude, gpt = _policy(filters={"model": "claude-sonnet-4-5"}), _policy(filters={"model": "gpt-4o"})
    assert refined_spend(claude, [day], lambda _: quarters) == Decimal(5)
    assert refined_spend(gpt, [day], lambda _: quarters) == Decimal(5)
    # And a day whose row named everything, or a policy without filters, reads no quarter hour
    named = RollupRow("2026-11-27", Decimal(1), labels={CLAUDE: _spend("1")})
    assert refined_spend(_policy(filters={"model": "claude-sonnet-4-5"}), [named], _never_read) == Decimal(1)
    assert refined_spend(_policy(), [day], _never_read) == Decimal(6)


def test_at_most_so_many_days_are_read_again_the_costliest_unnamed_first() -> None:
    # Given more spilled days than are read again, one of them far costlier
    days = [
        RollupRow(f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}", Decimal(1)) for i in range(MAX_REFINED_DAYS + 5)
    ]
    days[-1] = RollupRow(days[-1].bucket, Decimal(100))
    read: list[str] = []

    def quarters_of(day: str) -> list[RollupRow]:
        read.append(day)
        return []

    # When a filtered policy is seeded
    seeded = refined_spend(_policy(filters={"model": "gpt-4o"}), days, quarters_of)
    # Then the costliest day was read again (its quarter hours name nothing of gpt-4o), and only so many
    assert days[-1].bucket in read
    assert len(read) == MAX_REFINED_DAYS
    assert seeded == Decimal(5)  # the five days not read again count whole


def test_a_day_written_partly_before_labels_counts_both_halves() -> None:
    # Given the deploy day's row: $5 of gpt-4o in the old per-part entries, then $1 as a label
    row = RollupRow(
        "2026-11-28",
        Decimal(6),
        labels={GPT: _spend("1")},
        legacy={
            ("model", "gpt-4o"): _spend("5"),
            ("kind", "llm"): _spend("5"),
            ("provider", "openai"): _spend("5"),
        },
    )
    # Then a policy on gpt-4o is seeded with all $6, and one on claude with nothing named
    assert recorded_spend(_policy(filters={"model": "gpt-4o"}), [row]) == Decimal(6)
    assert recorded_spend(_policy(filters={"model": "claude-sonnet-4-5"}), [row]) == Decimal(0)


class _Rows:
    def __init__(self, rows: list[RollupRow]) -> None:
        self.stored = rows

    def rows(
        self, tenant_id: str, dimension: str, value: str, granularity: Granularity, first: str, last: str
    ) -> list[RollupRow]:
        day = granularity is Granularity.DAY
        return [r for r in self.stored if (len(r.bucket) == 10) == day and first <= r.bucket <= last]


def test_an_edge_inside_an_hour_reads_an_hourly_row_of_before_whole_and_quarters_from_the_edge() -> None:
    # Given an hourly row written before quarter hours, and quarter rows either side of 18:30
    stored = _Rows(
        [
            RollupRow("2026-11-28T18", Decimal(7)),
            RollupRow("2026-11-28T18:15", Decimal(1)),
            RollupRow("2026-11-28T18:30", Decimal(2)),
            RollupRow("2026-11-28T19:00", Decimal(3)),
        ]
    )
    # When [18:30, 19:15) is read (a day starting at 18:30 UTC)
    rows = rollup_rows(
        stored,
        "t",
        "all",
        "*",
        datetime(2026, 11, 28, 18, 30, tzinfo=UTC),
        datetime(2026, 11, 28, 19, 15, tzinfo=UTC),
    )
    # Then the old hour counts whole (towards the limit), and the quarter before the edge does not
    assert sorted(r.bucket for r in rows) == ["2026-11-28T18", "2026-11-28T18:30", "2026-11-28T19:00"]
