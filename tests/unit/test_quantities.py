"""Every model that carries the counted quantities carries exactly those of the one registry."""

from __future__ import annotations

import dataclasses

import usage_routes

from budget_core.domain.usage.accounting import Totals
from budget_core.domain.usage.event import TokenAndImageUsage
from budget_core.domain.usage.quantities import COUNTED, COUNTED_NAMES
from budget_core.domain.usage.queries import ROLLUP_COUNTS, RollupRow

MONEY_AND_EVENTS = {"cost_usd", "events", "unpriced_events"}


def test_the_registry_names_each_quantity_once_on_every_item() -> None:
    assert len(set(COUNTED_NAMES)) == len(COUNTED)
    assert len({q.event_attribute for q in COUNTED}) == len(COUNTED)


def test_the_event_usage_counts_every_quantity() -> None:
    assert set(COUNTED_NAMES) <= set(TokenAndImageUsage.model_fields)


def test_totals_rollup_rows_and_the_summary_carry_exactly_the_registry() -> None:
    assert {f.name for f in dataclasses.fields(Totals)} == MONEY_AND_EVENTS | set(COUNTED_NAMES)
    row_fields = {f.name for f in dataclasses.fields(RollupRow)} - {"bucket", "labels", "legacy"}
    assert row_fields == MONEY_AND_EVENTS | set(COUNTED_NAMES)
    assert set(ROLLUP_COUNTS) == {"events", "unpriced_events", *COUNTED_NAMES}
    summary_fields = set(usage_routes.SummaryResponse.model_fields)
    assert summary_fields - {
        "start",
        "end",
        "by_provider",
        "by_model",
        "by_operation",
    } == MONEY_AND_EVENTS | set(COUNTED_NAMES)
