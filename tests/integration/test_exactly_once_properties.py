"""Invariant 1 under fire: whatever the stream and Lambda do (duplicates inside and across batches,
whole-batch redelivery, a crash after k transactions, throttling), every counter equals the exact
Decimal sum of the unique events it covers.

Each hypothesis example runs in tenants of its own on one moto table, through the real handler.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest_bootstrap
from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
from budget_core.domain.policies.policy import NewPolicy, Period, Policy
from budget_core.domain.shared.periods import period_key
from budget_core.platform.settings import IngestSettings, settings_of
from tests.support.aws import REGION, TABLE_NAME, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.flaky_client import FlakyClient, throttled
from tests.support.ledger_reads import daily_rollup, spent
from tests.support.usage_stream import UsageStreamDriver

NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


USERS = ("u1", "u2", "u3")
TEAMS = ("red", "blue")
_counter = itertools.count()


@dataclass(frozen=True)
class Spec:
    tenant: int
    user: str
    team: str
    cents: Decimal
    minutes_ago: int
    provider: str


event_specs = st.builds(
    Spec,
    tenant=st.integers(0, 1),
    user=st.sampled_from(USERS),
    team=st.sampled_from(TEAMS),
    cents=st.integers(0, 10**9).map(lambda n: Decimal(n).scaleb(-7)),
    minutes_ago=st.integers(1, 60 * 24 * 3),
    provider=st.sampled_from(("openai", "anthropic")),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    pool = draw(st.lists(event_specs, min_size=1, max_size=40))
    batches = draw(
        st.lists(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=60), min_size=1, max_size=4)
    )
    mishaps = draw(
        st.lists(
            st.sampled_from(("none", "redeliver", "crash", "throttle")),
            min_size=len(batches),
            max_size=len(batches),
        )
    )
    crash_after = draw(st.integers(0, 3))
    return {"pool": pool, "batches": batches, "mishaps": mishaps, "crash_after": crash_after}


def _policies(tenant: str) -> list[Policy]:
    repository = DynamoDBPolicyRepository(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)
    specs = [
        {"scope": {"type": "tenant"}, "period": "total"},
        {"scope": {"type": "team", "id": "red"}, "period": "total"},
        {"scope": {"type": "user", "id": "u2"}, "period": "day", "timezone": "Asia/Tokyo"},
        {"scope": {"type": "tenant"}, "period": "total", "filters": {"provider": "openai"}},
    ]
    policies = []
    for spec in specs:
        new = NewPolicy.model_validate({"name": "p", "limit_usd": "100", **spec})
        policy = Policy(
            **new.model_dump(),
            policy_id=f"pol_{next(_counter):028x}",
            tenant_id=tenant,
            version=1,
            created_at=NOW,
            updated_at=NOW,
        )
        repository.create(policy)
        policies.append(policy)
    return policies


def _event(spec: Spec, event_id: str, tenants: list[str]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "tenant_id": tenants[spec.tenant],
        "kind": "custom",
        "provider": spec.provider,
        "timestamp": (NOW - timedelta(minutes=spec.minutes_ago)).isoformat(),
        "cost_usd": format(spec.cents, "f"),
        "user_id": spec.user,
        "team_id": spec.team,
    }


def _covers(policy: Policy, event: dict[str, Any]) -> bool:
    scope_ok = {
        "tenant": True,
        "team": event["team_id"] == policy.scope.id,
        "user": event["user_id"] == policy.scope.id,
    }[policy.scope.type.value]
    return scope_ok and policy.filters.provider in (None, event["provider"])


@pytest.fixture
def flaky_ingest(aws: AwsResources, fresh_handlers: None, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    flaky = FlakyClient(boto3.client("dynamodb", region_name=REGION))
    ingest_bootstrap.install(
        ingest_bootstrap.IngestRoot(
            settings_of(IngestSettings), FixedClock(NOW), flaky, boto3.client("sqs", region_name=REGION)
        )
    )
    return flaky


@settings(
    max_examples=int(__import__("os").environ.get("EXACTLY_ONCE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_counters_equal_the_exact_sum_of_unique_events(
    scenario: dict[str, Any], aws: AwsResources, flaky_ingest: FlakyClient
) -> None:
    # Given two fresh tenants with four policies each, and a pool of events
    flaky_ingest.failures.clear()  # examples share the client; none inherits another's mishaps
    run = uuid.uuid4().hex[:10]
    tenants = [f"t{run}a", f"t{run}b"]
    policies = {tenant: _policies(tenant) for tenant in tenants}
    events = [_event(spec, f"ev-{index}", tenants) for index, spec in enumerate(scenario["pool"])]
    driver = UsageStreamDriver(aws, clock=FixedClock(NOW))
    driver.read_new()  # skip what earlier examples left on the stream
    delivered: dict[tuple[str, str], dict[str, Any]] = {}

    # When batches arrive with duplicates, and each meets its mishap
    for batch, mishap in zip(scenario["batches"], scenario["mishaps"], strict=True):
        driver.put([events[i] for i in batch])
        records = driver.read_new()
        if mishap == "crash":
            # the function dies after k transactions; Lambda re-runs the whole batch
            flaky_ingest.fail_next(
                "transact_write_items",
                *[lambda _: None] * scenario["crash_after"],
                lambda _: RuntimeError("Lambda timed out"),
            )
            # crashes as planned (a batch with fewer than k+1 transactions simply completes)
            with contextlib.suppress(RuntimeError):
                driver.invoke(records)
            flaky_ingest.failures.clear()
        if mishap == "throttle":
            flaky_ingest.fail_next(
                "transact_write_items",
                *[lambda _: None] * scenario["crash_after"],
                lambda _: throttled("TransactWriteItems"),
            )
        driver.deliver_until_done(records)
        flaky_ingest.failures.clear()
        if mishap == "redeliver":
            assert driver.invoke(records) == {"batchItemFailures": []}
        for i in batch:
            delivered[(events[i]["tenant_id"], events[i]["event_id"])] = events[i]

    # Then every counter is the exact sum of the unique events it covers
    for tenant in tenants:
        unique = [e for (t, _), e in delivered.items() if t == tenant]
        for policy in policies[tenant]:
            expected: dict[str, Decimal] = defaultdict(Decimal)
            for event in unique:
                if _covers(policy, event):
                    moment = datetime.fromisoformat(event["timestamp"])
                    expected[period_key(policy.period, policy.timezone, moment)] += Decimal(event["cost_usd"])
            if policy.period is Period.TOTAL:
                assert spent(aws, tenant, policy.policy_id, "total") == expected.get("total", Decimal(0))
            for key, total in expected.items():
                assert spent(aws, tenant, policy.policy_id, key) == total
        by_day: dict[str, tuple[Decimal, int]] = {}
        for event in unique:
            day = event["timestamp"][:10]
            cost, count = by_day.get(day, (Decimal(0), 0))
            by_day[day] = (cost + Decimal(event["cost_usd"]), count + 1)
        for day, (cost, count) in by_day.items():
            rollup = daily_rollup(aws, tenant, day)
            assert (Decimal(rollup["cost_usd"]), rollup["events"]) == (cost, count)
