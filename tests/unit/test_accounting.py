"""Packing events into transactions: never over 100 actions, and each commit moves its counters by
exactly its own events."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from budget_core.domain.policies.policy import NewPolicy, Policy
from budget_core.domain.usage.accounting import (
    PolicyCounterKey,
    PricedEvent,
    RollupKey,
    UsageLabel,
    plan_commits,
    targets_of,
    without,
)
from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.pricing.quote import PriceQuote

NOW = datetime(2026, 11, 29, 18, 20, tzinfo=UTC)


def _policy(index: int, **body: Any) -> Policy:
    new = NewPolicy.model_validate({"name": "p", "limit_usd": "10", "period": "day", **body})
    return Policy(
        **new.model_dump(),
        policy_id=f"pol_{index:028x}",
        tenant_id="t",
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


POLICIES = {
    "t": [
        _policy(1, scope={"type": "tenant"}),
        _policy(2, scope={"type": "team", "id": "red"}, timezone="Asia/Kolkata"),
        _policy(3, scope={"type": "user", "id": "u1"}, period="month"),
    ]
}


def _priced(index: int, cents: int, minutes: int, user: str, team: str, cost: bool = True) -> PricedEvent:
    event = UsageEvent.model_validate(
        {
            "event_id": f"e{index}",
            "tenant_id": "t",
            "timestamp": (NOW - timedelta(minutes=minutes)).isoformat(),
            "kind": "custom",
            "user_id": user,
            "team_id": team,
            "provider": "p",
            "model": "m",
        },
        context={"now": NOW},
    )
    return PricedEvent(event, PriceQuote(Decimal(cents) / 100 if cost else None, "test"), str(index))


events_strategy = st.lists(
    st.builds(
        _priced,
        index=st.integers(0, 10**6),
        cents=st.integers(0, 10**6),
        minutes=st.integers(0, 3000),
        user=st.sampled_from(["u1", "u2", "u3", "u4"]),
        team=st.sampled_from(["red", "blue"]),
        cost=st.booleans(),
    ),
    max_size=400,
    unique_by=lambda p: p.event.event_id,
)


@settings(max_examples=150, deadline=None)
@given(events=events_strategy, max_actions=st.integers(20, 100))
def test_commits_fit_a_transaction_and_carry_exactly_their_events(
    events: list[PricedEvent], max_actions: int
) -> None:
    commits = plan_commits(events, POLICIES, max_actions=max_actions)
    assert sorted(p.event.event_id for c in commits for p in c.events) == sorted(
        p.event.event_id for p in events
    )
    for commit in commits:
        assert commit.actions <= max_actions
        expected: dict[Any, Decimal] = defaultdict(Decimal)
        counts: dict[Any, int] = defaultdict(int)
        for priced in commit.events:
            targets = targets_of(priced.event, POLICIES["t"])
            for key in targets.counter_keys():
                expected[key] += priced.quote.cost_usd or Decimal(0)
                counts[key] += 1
        assert {k: d.totals.cost_usd for k, d in commit.deltas.items()} == dict(expected)
        assert {k: d.totals.events for k, d in commit.deltas.items()} == dict(counts)


def test_a_day_policy_in_a_half_hour_zone_splits_events_at_its_own_midnight() -> None:
    # 18:20 UTC is 23:50 in Kolkata; 18:40 UTC is 00:10 the next day there
    before = _priced(1, 100, 0, "u2", "red")
    after = PricedEvent(
        before.event.model_copy(update={"event_id": "e2", "timestamp": NOW + timedelta(minutes=20)}),
        before.quote,
        "2",
    )
    [commit] = plan_commits([before, after], POLICIES)
    team_counters = {
        k.period_key: d.totals.events
        for k, d in commit.deltas.items()
        if isinstance(k, PolicyCounterKey) and k.policy_id == POLICIES["t"][1].policy_id
    }
    assert team_counters == {"2026-11-29": 1, "2026-11-30": 1}


def test_rollups_exist_for_every_scope_attribute_the_event_has() -> None:
    [commit] = plan_commits([_priced(1, 50, 0, "u1", "red")], POLICIES)
    rollups = {(k.dimension, k.value, k.granularity.value) for k in commit.deltas if isinstance(k, RollupKey)}
    assert rollups == {
        (d, v, g)
        for d, v in (("all", "*"), ("user_id", "u1"), ("team_id", "red"))
        for g in ("day", "quarter")
    }
    day = next(
        d
        for k, d in commit.deltas.items()
        if isinstance(k, RollupKey) and k.dimension == "all" and k.granularity.value == "day"
    )
    assert {label: b.cost_usd for label, b in day.breakdown.items()} == {
        UsageLabel("p", "m", "custom", None): Decimal("0.5"),
    }


def test_without_drops_events_and_recomputes_their_counters() -> None:
    events = [_priced(i, 100, 0, "u1", "red") for i in range(3)]
    [commit] = plan_commits(events, POLICIES)
    rebuilt = without(commit, {("t", "e1")}, POLICIES)
    assert [p.event.event_id for p in rebuilt.events] == ["e0", "e2"]
    assert all(d.totals.events == 2 for d in rebuilt.deltas.values())
    assert without(commit, {("t", "e0"), ("t", "e1"), ("t", "e2")}, POLICIES).events == []


def test_a_totals_only_commit_gives_its_rollups_no_label_entry() -> None:
    # Given the fallback of a refused commit: rollups without labels
    [commit] = plan_commits([_priced(i, 100, 0, "u1", "red") for i in range(2)], POLICIES, breakdowns=False)
    rollups = [d for k, d in commit.deltas.items() if isinstance(k, RollupKey)]
    # Then every rollup counts the totals and adds no attribute (their spend reads as "other")
    assert rollups
    assert all(not d.breakdown and d.totals.events == 2 for d in rollups)


def test_a_filtered_policy_keeps_its_label_only_in_the_rollups_it_is_seeded_from() -> None:
    policies = {"t": [_policy(30, scope={"type": "team", "id": "red"}, filters={"model": "m"})]}
    [commit] = plan_commits([_priced(1, 100, 0, "u1", "red")], policies)
    kept = {(k.dimension, k.value) for k, d in commit.deltas.items() if isinstance(k, RollupKey) and d.kept}
    assert kept == {("team_id", "red")}


def _scoped(index: int, cents: int, minutes: int, scope: dict[str, str | None], label: int) -> PricedEvent:
    event = UsageEvent.model_validate(
        {
            "event_id": f"s{index}",
            "tenant_id": "t",
            "timestamp": (NOW - timedelta(minutes=minutes)).isoformat(),
            "kind": "custom" if label % 2 else "llm",
            "provider": ["p", "q"][label % 2],
            "model": ["m", "n", "o"][label % 3],
            "operation": ["chat", "embed"][label % 2],
            **{name: value for name, value in scope.items() if value is not None},
        },
        context={"now": NOW},
    )
    return PricedEvent(event, PriceQuote(Decimal(cents) / 100, "test"), str(index))


SCOPED_POLICIES = {
    "t": [
        _policy(10, scope={"type": "tenant"}),
        *(
            _policy(11 + i, scope={"type": kind, "id": "a"}, period=period)
            for i, (kind, period) in enumerate(
                [("team", "day"), ("user", "month"), ("api_key", "day"), ("project", "week")]
            )
        ),
        _policy(20, scope={"type": "project", "id": "b"}, filters={"provider": "q"}),
        _policy(21, scope={"type": "api_key", "id": "b"}, filters={"model": "n", "kind": "llm"}),
    ]
}
scope_values = st.sampled_from(["a", "b", None])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            _scoped,
            index=st.integers(0, 10**6),
            cents=st.integers(0, 10**4),
            # few quarter hours and labels, so that events often differ in one scope attribute only
            minutes=st.sampled_from([0, 20, 1500]),
            scope=st.fixed_dictionaries(
                {
                    "team_id": scope_values,
                    "user_id": scope_values,
                    "api_key_id": scope_values,
                    "project_id": scope_values,
                }
            ),
            label=st.integers(0, 2),
        ),
        max_size=120,
        unique_by=lambda p: p.event.event_id,
    )
)
def test_the_grouped_plan_moves_every_counter_as_one_event_at_a_time_would(events: list[PricedEvent]) -> None:
    # Given events varying every scope attribute, label and time
    # When they are planned together, and each one alone
    def moved(commits: list[Any]) -> dict[Any, tuple[Decimal, int]]:
        found: dict[Any, tuple[Decimal, int]] = {}
        for commit in commits:
            for key, delta in commit.deltas.items():
                cost, count = found.get(key, (Decimal(0), 0))
                found[key] = (cost + delta.totals.cost_usd, count + delta.totals.events)
        return found

    together = moved(plan_commits(events, SCOPED_POLICIES))
    alone: dict[Any, tuple[Decimal, int]] = {}
    for priced in events:
        for key, (cost, count) in moved(plan_commits([priced], SCOPED_POLICIES)).items():
            was = alone.get(key, (Decimal(0), 0))
            alone[key] = (was[0] + cost, was[1] + count)
    # Then every counter and rollup moves by exactly the same amounts
    assert together == alone
