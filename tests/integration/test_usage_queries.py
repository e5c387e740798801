"""Summaries and trends read the rollups ingestion wrote; they equal the sums of the ingested
events to the cent, by every breakdown, across a month boundary, for a policy in Tokyo time."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import ApiResponse
from tests.support.aws import AwsResources
from tests.support.clocks import FixedClock
from tests.support.ledger_reads import spent
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
# Every function runs at this moment, a day and some hours into March: the tests do not depend on
# the calendar day they run on.
NOW = datetime(2026, 3, 2, 7, 13, 21, tzinfo=UTC)
BOUNDARY = datetime(2026, 3, 1, tzinfo=UTC)
MODELS = [
    ("openai", "gpt-4o", "chat"),
    ("anthropic", "claude-haiku-4-5", "messages"),
    ("openai", "dall-e-3", "image"),
]


def _boundary() -> datetime:
    """The month boundary the ingested events straddle (the end of a 28-day February)."""
    return BOUNDARY


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _events() -> list[dict[str, Any]]:
    rng = random.Random(3)
    boundary = _boundary()
    after = max(int((NOW - boundary).total_seconds()) - 60, 60)
    found = []
    for index in range(50):
        offset = -rng.randrange(60, 3 * 86400) if index % 2 else rng.randrange(0, after)
        provider, model, operation = rng.choice(MODELS)
        found.append(
            {
                "event_id": f"q-{index}",
                "tenant_id": "tenant-acme",
                "kind": "custom",
                "timestamp": (boundary + timedelta(seconds=offset)).isoformat(),
                "cost_usd": format(Decimal(rng.randrange(1, 10**7)).scaleb(-6), "f"),
                "provider": provider,
                "model": model,
                "operation": operation,
                "user_id": rng.choice(["alice", "bob"]),
                "team_id": rng.choice(["red", "blue"]),
            }
        )
    return found


@pytest.fixture
def ingested(api: Api, usage_stream: UsageStreamDriver) -> list[dict[str, Any]]:
    events = _events()
    assert usage_stream.deliver(events) == {"batchItemFailures": []}
    return events


def _sums(events: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, Any]:
    chosen = [e for e in events if start <= datetime.fromisoformat(e["timestamp"]) < end]
    totals = {"cost_usd": sum((Decimal(e["cost_usd"]) for e in chosen), Decimal(0)), "events": len(chosen)}
    parts: dict[str, dict[str, list[Decimal]]] = {
        "provider": defaultdict(list),
        "model": defaultdict(list),
        "operation": defaultdict(list),
    }
    for event in chosen:
        for part, bucket in parts.items():
            bucket[event[part]].append(Decimal(event["cost_usd"]))
    return {
        **totals,
        **{f"by_{p}": {k: (sum(v, Decimal(0)), len(v)) for k, v in b.items()} for p, b in parts.items()},
    }


def _as_sums(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "cost_usd": Decimal(body["cost_usd"]),
        "events": body["events"],
        **{
            f"by_{p}": {k: (Decimal(v["cost_usd"]), v["events"]) for k, v in body[f"by_{p}"].items()}
            for p in ("provider", "model", "operation")
        },
    }


def test_the_summary_equals_the_events_to_the_cent_across_the_month_boundary(
    api: Api, ingested: list[dict[str, Any]]
) -> None:
    boundary = _boundary()
    # Whole days, then hour-aligned edges on both sides of the month boundary
    for start, end in (
        (boundary - timedelta(days=4), NOW + timedelta(hours=1)),
        (boundary - timedelta(hours=30), boundary + timedelta(minutes=30)),
        (boundary - timedelta(days=2, hours=5), boundary),
    ):
        start_h, end_h = start.replace(minute=0, second=0), end.replace(minute=0, second=0)
        response = api(
            "usage_summary",
            query={
                "start": start_h.isoformat().replace("+00:00", "Z"),
                "end": end_h.isoformat().replace("+00:00", "Z"),
            },
        )
        assert response.status == 200, response.body
        assert _as_sums(response.body) == _sums(ingested, start_h, end_h)
        assert response.headers["cache-control"].startswith("private, max-age=")


def test_a_summary_is_exact_to_the_quarter_hour(api: Api, ingested: list[dict[str, Any]]) -> None:
    # Given edges at quarter hours inside hours (the start of a day in a zone at :30 or :45)
    boundary = _boundary()
    for start, end in (
        (boundary - timedelta(hours=29, minutes=45), boundary + timedelta(minutes=15)),
        (boundary - timedelta(days=2, hours=5, minutes=30), boundary - timedelta(hours=3, minutes=45)),
    ):
        # When summarized, then the events between exactly count, by every breakdown
        query = {
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
        }
        response = api("usage_summary", query=query)
        assert response.status == 200, response.body
        assert _as_sums(response.body) == _sums(ingested, start, end)


def test_a_summary_narrowed_to_a_team_counts_only_its_events(
    api: Api, ingested: list[dict[str, Any]]
) -> None:
    start = (_boundary() - timedelta(days=4)).date().isoformat()
    body = api("usage_summary", query={"start": start, "team_id": "red"}).body
    red = [e for e in ingested if e["team_id"] == "red"]
    assert _as_sums(body) == _sums(red, _boundary() - timedelta(days=4), NOW + timedelta(hours=1))


def test_daily_and_hourly_trends_add_up_to_the_summary(api: Api, ingested: list[dict[str, Any]]) -> None:
    boundary = _boundary()
    start, end = boundary - timedelta(days=3), boundary + timedelta(days=1)
    query = {"start": start.date().isoformat(), "end": end.date().isoformat()}
    days = api("usage_trend", query={**query, "granularity": "day"}).body
    hours = api("usage_trend", query={**query, "granularity": "hour"}).body
    assert len(days["points"]) == 4
    assert len(hours["points"]) == 96
    expected = _sums(ingested, start, end)
    for trend in (days, hours):
        assert sum(Decimal(p["cost_usd"]) for p in trend["points"]) == expected["cost_usd"]
        assert sum(p["events"] for p in trend["points"]) == expected["events"]
    day_of_boundary = next(p for p in days["points"] if p["start"].startswith(boundary.date().isoformat()))
    assert (
        Decimal(day_of_boundary["cost_usd"])
        == _sums(ingested, boundary, boundary + timedelta(days=1))["cost_usd"]
    )


def test_a_tokyo_monthly_policy_counts_by_tokyo_months(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources
) -> None:
    body = {
        "name": "tokyo",
        "scope": {"type": "tenant"},
        "period": "month",
        "timezone": "Asia/Tokyo",
        "limit_usd": "100000",
    }
    policy_id = api("create_policy", body=body).body["policy_id"]
    events = _events()
    assert usage_stream.deliver(events) == {"batchItemFailures": []}
    tokyo: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        local = datetime.fromisoformat(event["timestamp"]).astimezone(ZoneInfo("Asia/Tokyo"))
        tokyo[f"{local.year:04d}-{local.month:02d}"] += Decimal(event["cost_usd"])
    for month, total in tokyo.items():
        assert spent(aws, "tenant-acme", policy_id, month) == total


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-11-10", "end": "2026-11-01"}, None),
        ({"start": "2024-01-01", "end": "2026-11-01"}, None),
        ({"start": "yesterday"}, "start"),
        ({"granularity": "minute"}, "granularity"),
        ({"user_id": "a", "team_id": "b"}, None),
    ],
)
def test_a_bad_usage_query_is_422(api: Api, query: dict[str, str], field: str | None) -> None:
    response = api("usage_trend", query=query)
    assert response.status == 422, response.body
    if field:
        assert field in {d["field"] for d in response.body["error"]["details"]}


def test_hourly_trends_are_limited_to_31_days(api: Api) -> None:
    response = api("usage_trend", query={"start": "2026-09-01", "end": "2026-11-01", "granularity": "hour"})
    assert response.status == 422
    assert response.body["error"]["details"][0]["field"] == "granularity"


@pytest.mark.parametrize(
    ("clock", "forecast_known"),
    [
        # 4 % of March gone: too early to forecast
        (FixedClock(NOW), False),
        # exactly half of March gone: twice the spend so far
        (FixedClock(datetime(2026, 3, 16, 12, tzinfo=UTC)), True),
    ],
    ids=["early-in-the-month", "mid-month"],
)
def test_the_status_of_a_policy_reports_its_period(
    api: Api, usage_stream: UsageStreamDriver, clock: FixedClock, forecast_known: bool
) -> None:
    # Given a $200 monthly tenant policy and $50 spent half a minute ago
    body = {"name": "all", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "200"}
    policy_id = api("create_policy", body=body).body["policy_id"]
    event = {
        "event_id": "s-1",
        "tenant_id": "tenant-acme",
        "kind": "custom",
        "cost_usd": "50",
        "timestamp": (clock.now() - timedelta(seconds=30)).isoformat(),
    }
    usage_stream.deliver([event])
    # When its status is read
    status = api("policy_status", policy_id=policy_id).body
    # Then it reports the month so far, a forecast once enough of the month has gone by, and
    # nothing to another tenant
    assert (status["spent_usd"], status["remaining_usd"], status["percent_used"]) == (
        "50.00",
        "150.00",
        "25.00",
    )
    assert datetime.fromisoformat(status["period_start"]) == BOUNDARY
    if forecast_known:
        assert Decimal(status["forecast_usd"]) == Decimal(100)
    else:
        assert status["forecast_usd"] is None
    assert api("policy_status", policy_id=policy_id, tenant="tenant-globex").status == 404


def test_an_entry_made_only_of_unpriced_events_has_no_cost_not_zero(
    api: Api, usage_stream: UsageStreamDriver
) -> None:
    # Given one call of a model no catalogue prices, one priced call, and a transcription reported
    # in tokens for a model billed by the second (unpriced, never $0)
    base = {"tenant_id": "tenant-acme", "kind": "llm", "timestamp": (NOW - timedelta(minutes=5)).isoformat()}
    events = [
        {**base, "event_id": "u-1", "provider": "acme", "model": "private-1", "usage": {"input_tokens": 10}},
        {
            **base,
            "event_id": "u-2",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {"input_tokens": 1000, "output_tokens": 100},
        },
        {
            **base,
            "event_id": "u-3",
            "provider": "openai",
            "model": "whisper-1",
            "usage": {"input_tokens": 50},
        },
    ]
    assert usage_stream.deliver(events) == {"batchItemFailures": []}
    # When the day is summarized
    body = api("usage_summary", query={"start": NOW.date().isoformat()}).body
    # Then the unpriced entries say so, and the priced one has its cost
    assert body["by_model"]["private-1"] == {"cost_usd": None, "events": 1, "unpriced_events": 1}
    assert body["by_model"]["whisper-1"] == {"cost_usd": None, "events": 1, "unpriced_events": 1}
    assert body["by_model"]["gpt-4o"]["cost_usd"] == "0.0035"
    assert body["by_model"]["gpt-4o"]["unpriced_events"] == 0
    assert body["by_provider"]["openai"] == {"cost_usd": "0.0035", "events": 2, "unpriced_events": 1}
    assert body["unpriced_events"] == 2
