"""What a new or re-scoped policy is seeded with, read from rollup rows of every vintage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from budget_core.domain.checks.seeding import recorded_spend
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
