"""The ledger keeps its promises while policies change under flowing usage (invariant 9), and
nothing stored or sent makes a 500: each test is one way it broke before.

Usage goes in through the real ingest handler, policies through the real API handler, and alerts
through the real alert handler fed from the table's stream.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import ingest_bootstrap
from budget_core.platform.settings import IngestSettings, settings_of
from tests.integration.conftest import ApiResponse
from tests.support.aws import TABLE_NAME, AwsResources
from tests.support.clocks import TEST_MOMENT, FixedClock
from tests.support.table_stream import TableStreamDriver
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
TENANT = "tenant-acme"
NOW = TEST_MOMENT


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


class Usage:
    """Spends through the real ingest handler, each event one minute before the test started."""

    def __init__(self, stream: UsageStreamDriver) -> None:
        self.stream, self.count = stream, 0

    def spend(self, amount: str, at: datetime | None = None, **fields: Any) -> None:
        self.count += 1
        event = {
            "event_id": f"ev-{self.count}",
            "tenant_id": TENANT,
            "timestamp": (at or NOW - timedelta(minutes=1)).isoformat(),
            "kind": "custom",
            "cost_usd": amount,
            **fields,
        }
        assert self.stream.deliver([event]) == {"batchItemFailures": []}


@pytest.fixture
def usage(usage_stream: UsageStreamDriver) -> Usage:
    return Usage(usage_stream)


def _create(api: Api, **fields: Any) -> str:
    body = {"name": "cap", "period": "month", "limit_usd": "10", **fields}
    response = api("create_policy", body=body)
    assert response.status == 201, response.body
    return str(response.body["policy_id"])


def _patch(api: Api, policy_id: str, **changes: Any) -> None:
    response = api("patch_policy", policy_id=policy_id, body=changes, drop_headers=("if-match",))
    assert response.status == 200, response.body


def _spent(api: Api, policy_id: str) -> Decimal:
    response = api("policy_status", policy_id=policy_id)
    assert response.status == 200, response.body
    return Decimal(response.body["spent_usd"])


def _check(api: Api, amount: str, **scope: str) -> ApiResponse:
    response = api("check_budget", body={"estimated_cost_usd": amount, **scope})
    assert response.status == 200, response.body
    return response


def test_spend_committed_right_after_a_create_counts_against_it(api: Api, usage: Usage) -> None:
    # Given an ingest instance that has just read dave's tenant (no policies yet) and caches it
    usage.spend("0.10", user_id="someone-else")
    # When a $5 daily hard cap for dave is created and $3 of his usage commits at once
    policy_id = _create(api, scope={"type": "user", "id": "dave"}, period="day", limit_usd="5")
    usage.spend("3.00", user_id="dave")
    # Then the cap shows it, and a $4 reservation is refused
    assert _spent(api, policy_id) == Decimal("3.00")
    refused = api("create_reservation", body={"estimated_cost_usd": "4.00", "user_id": "dave"})
    assert refused.status == 409, refused.body
    assert refused.body["error"]["code"] == "budget_exceeded"


def test_a_deleted_and_recreated_policy_counts_the_very_next_commit(api: Api, usage: Usage) -> None:
    # Given dave's cap, deleted and made again while ingestion caches the tenant
    first = _create(api, scope={"type": "user", "id": "dave"}, limit_usd="5")
    usage.spend("1.00", user_id="dave")
    assert api("delete_policy", policy_id=first, drop_headers=("if-match",)).status == 204
    usage.spend("0.50", user_id="dave")  # under no policy: recorded, counted nowhere
    second = _create(api, scope={"type": "user", "id": "dave"}, limit_usd="5")
    # When more of his usage commits
    usage.spend("2.00", user_id="dave")
    # Then the new policy holds the whole period: what was recorded before it, and what came after
    assert _spent(api, second) == Decimal("3.50")


def test_spend_recorded_earlier_in_the_period_counts_from_creation_unless_told_not_to(
    api: Api, usage: Usage
) -> None:
    # Given $2 of dave's usage and $1 of erin's already recorded this month
    usage.spend("2.00", user_id="dave")
    usage.spend("1.00", user_id="erin")
    # When a policy for dave is created, and one for erin that leaves existing spend out
    dave = _create(api, scope={"type": "user", "id": "dave"})
    erin = _create(api, scope={"type": "user", "id": "erin"}, include_existing_spend=False)
    # Then dave's starts at $2 and blocks a check that would pass its limit; erin's starts at zero
    assert _spent(api, dave) == Decimal("2.00")
    assert _spent(api, erin) == Decimal(0)
    assert _check(api, "8.50", user_id="dave").body["decision"] == "deny"
    # And both count what comes next
    usage.spend("0.25", user_id="dave")
    usage.spend("0.25", user_id="erin")
    assert (_spent(api, dave), _spent(api, erin)) == (Decimal("2.25"), Decimal("0.25"))


def test_a_scope_edit_counts_the_new_scope_not_the_old_ones_counter(api: Api, usage: Usage) -> None:
    # Given alice has spent $9 of a $10 policy, and bob $0.50
    policy_id = _create(api, scope={"type": "user", "id": "alice"})
    usage.spend("9.00", user_id="alice")
    usage.spend("0.50", user_id="bob")
    assert _spent(api, policy_id) == Decimal("9.00")
    # When the policy's scope is changed to bob
    _patch(api, policy_id, scope={"type": "user", "id": "bob"})
    # Then it shows bob's spend, allows bob a $2 call, and no longer counts alice
    assert _spent(api, policy_id) == Decimal("0.50")
    assert _check(api, "2.00", user_id="bob").body["decision"] == "allow"
    usage.spend("1.00", user_id="alice")
    usage.spend("0.25", user_id="bob")
    assert _spent(api, policy_id) == Decimal("0.75")


def test_a_filter_edit_counts_what_the_new_filter_selects(api: Api, usage: Usage) -> None:
    # Given a team policy on OpenAI spend, with OpenAI and Anthropic spend recorded
    policy_id = _create(api, scope={"type": "team", "id": "ml"}, filters={"provider": "openai"})
    usage.spend("4.00", team_id="ml", kind="llm", provider="openai", model="gpt-4o")
    usage.spend("1.50", team_id="ml", kind="llm", provider="anthropic", model="claude-sonnet-4-5")
    assert _spent(api, policy_id) == Decimal("4.00")
    # When its filter is changed to Anthropic
    _patch(api, policy_id, filters={"provider": "anthropic"})
    # Then it holds the Anthropic spend only
    assert _spent(api, policy_id) == Decimal("1.50")


def test_several_filters_are_seeded_with_exactly_the_spend_they_select(api: Api, usage: Usage) -> None:
    # Given OpenAI text, OpenAI image and Anthropic spend of team ml recorded this month
    usage.spend("2.00", team_id="ml", kind="llm", provider="openai", model="gpt-4o")
    usage.spend("3.00", team_id="ml", kind="image", provider="openai", model="gpt-image-1")
    usage.spend("1.00", team_id="ml", kind="llm", provider="anthropic", model="claude-sonnet-4-5")
    # When policies are created on OpenAI images, and on OpenAI's gpt-4o text
    images = _create(api, scope={"type": "team", "id": "ml"}, filters={"provider": "openai", "kind": "image"})
    text = _create(
        api,
        scope={"type": "team", "id": "ml"},
        filters={"provider": "openai", "model": "gpt-4o", "kind": "llm"},
        period="day",
    )
    # Then each starts from exactly what its filters select (not from the most specific one alone)
    assert _spent(api, images) == Decimal("3.00")
    assert _spent(api, text) == Decimal("2.00")


def test_a_filtered_policy_on_a_day_past_its_rows_room_is_seeded_from_its_quarter_hours(
    api: Api, usage: Usage
) -> None:
    # Given yesterday dave used 24 models, one per quarter hour: more than his daily row names
    yesterday = NOW.replace(hour=0, minute=0, second=0) - timedelta(days=1)
    models = [f"fine-tune-{i:02d}".ljust(60, "x") for i in range(24)]
    for i, model in enumerate(models):
        usage.spend(f"0.{i + 10}", at=yesterday + timedelta(minutes=15 * i + 1), user_id="dave", model=model)
    # When policies on the last of them and on the first are created for dave
    last = _create(api, scope={"type": "user", "id": "dave"}, filters={"model": models[-1]})
    first = _create(api, scope={"type": "user", "id": "dave"}, filters={"model": models[0]})
    # Then each starts from exactly that model's spend, not from what the daily row left unnamed
    assert _spent(api, last) == Decimal("0.33")
    assert _spent(api, first) == Decimal("0.10")


def _midnight_at_half_hour(now: datetime) -> tuple[str, datetime]:
    """A zone whose day starts at a UTC :30 or :45, and that day's start, 10+ minutes ago."""
    from zoneinfo import ZoneInfo

    for zone in ("Asia/Kolkata", "Asia/Kathmandu"):
        local = now.astimezone(ZoneInfo(zone))
        start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        if now - start >= timedelta(minutes=10):
            return zone, start
    raise AssertionError("two zones 15 minutes apart cannot both have just begun their day")


def test_a_day_starting_inside_a_utc_hour_is_seeded_from_that_moment_exactly(api: Api, usage: Usage) -> None:
    # Given spend 5 minutes before and 5 minutes after a zone's midnight, in the same UTC hour
    zone, midnight = _midnight_at_half_hour(NOW)
    usage.spend("4.00", at=midnight - timedelta(minutes=5), user_id="priya")
    usage.spend("0.75", at=midnight + timedelta(minutes=5), user_id="priya")
    # When a daily policy in that zone is created
    policy_id = _create(api, scope={"type": "user", "id": "priya"}, period="day", timezone=zone)
    # Then it starts from the spend of its own day only
    assert _spent(api, policy_id) == Decimal("0.75")


def test_a_late_event_into_a_period_before_the_policy_counts_that_whole_period(
    api: Api, usage: Usage, aws: AwsResources
) -> None:
    from tests.support.ledger_reads import spent

    # Given $2 of gus's spend yesterday (UTC), and a daily policy for gus created today
    yesterday = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0)
    usage.spend("2.00", at=yesterday, user_id="gus")
    policy_id = _create(api, scope={"type": "user", "id": "gus"}, period="day")
    # When a late event of yesterday's arrives
    usage.spend("0.50", at=yesterday + timedelta(hours=1), user_id="gus")
    # Then yesterday's counter holds all of yesterday's spend, not only the late event
    assert spent(aws, TENANT, policy_id, yesterday.strftime("%Y-%m-%d")) == Decimal("2.50")
    # And today's counter is untouched by it
    assert _spent(api, policy_id) == Decimal(0)


def test_a_limit_edit_keeps_the_counter(api: Api, usage: Usage) -> None:
    policy_id = _create(api, scope={"type": "user", "id": "alice"})
    usage.spend("9.00", user_id="alice")
    _patch(api, policy_id, limit_usd="20", alert_thresholds=[90])
    assert _spent(api, policy_id) == Decimal("9.00")
    assert _check(api, "11.00", user_id="alice").body["decision"] == "allow"
    assert _check(api, "11.01", user_id="alice").body["decision"] == "deny"


def test_a_cost_with_more_than_ten_places_is_rounded_before_it_counts(api: Api, usage: Usage) -> None:
    # Given a policy, and an event the catalogue prices at 11 decimal places
    policy_id = _create(api, scope={"type": "tenant"})
    event = {
        "event_id": "nova",
        "tenant_id": TENANT,
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "kind": "llm",
        "provider": "aws",
        "model": "amazon.nova-micro-v1:0",
        "usage": {"input_tokens": 1001, "cache_read_tokens": 1, "output_tokens": 0},
    }
    assert usage.stream.deliver([event]) == {"batchItemFailures": []}
    # Then status, check and summary answer, each amount at most 10 places
    spent = _spent(api, policy_id)
    assert spent > 0
    exponent = spent.as_tuple().exponent
    assert isinstance(exponent, int)
    assert exponent >= -10
    assert _check(api, "0.01").status == 200
    assert api("usage_summary").status == 200


def test_a_stored_limit_too_small_for_any_percent_still_answers(
    api: Api, usage: Usage, aws: AwsResources
) -> None:
    # Given a policy stored (before limits had a minimum) with a $0.0000000001 limit, and $20,000 spent
    policy_id = _create(api, scope={"type": "tenant"})
    aws.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"T#{TENANT}"}, "sk": {"S": f"POLICY#{policy_id}"}},
        UpdateExpression="SET limit_usd = :tiny",
        ExpressionAttributeValues={":tiny": {"N": "0.0000000001"}},
    )
    usage.spend("20000")
    # Then its status answers with a bounded percent, and the alert history answers
    status = api("policy_status", policy_id=policy_id)
    assert status.status == 200, status.body
    assert status.body["percent_used"] == "1000000.00"
    assert api("list_alerts").status == 200


# -- alerts follow the limit in force --------------------------------------------------------------


@pytest.fixture
def table_stream(aws: AwsResources, fresh_handlers: None) -> TableStreamDriver:
    driver = TableStreamDriver(aws)
    driver.read_new()
    return driver


def _alerts(aws: AwsResources) -> list[tuple[int, str, str]]:
    return [(a["threshold_percent"], a["spent_usd"], a["limit_usd"]) for a in aws.alerts()]


def test_a_raised_limit_sends_no_alert_at_the_old_one_and_alerts_at_the_new(
    api: Api, usage: Usage, aws: AwsResources, table_stream: TableStreamDriver
) -> None:
    # Given a $10 tenant budget, and an ingest instance that caches it
    policy_id = _create(api, scope={"type": "tenant"})
    usage.spend("1.00")
    table_stream.pump()
    # When the limit is raised to $1,000 and $10 is spent at once
    _patch(api, policy_id, limit_usd="1000")
    usage.spend("9.00")
    table_stream.pump()
    # Then nothing is sent (1 % of the limit in force)
    assert _alerts(aws) == []
    # And when spend really reaches half of $1,000, the 50 % alert goes out at that limit
    usage.spend("490")
    table_stream.pump()
    assert _alerts(aws) == [(50, "500.00", "1000.00")]


def test_a_counter_write_judged_by_an_old_limit_alerts_nothing_once_the_limit_changed(
    api: Api, usage: Usage, aws: AwsResources, table_stream: TableStreamDriver
) -> None:
    # Given $9 of a $10 budget committed, but not yet seen by the alert function (stream lag)
    policy_id = _create(api, scope={"type": "tenant"})
    usage.spend("9.00")
    # When the limit is raised before the alert function catches up
    _patch(api, policy_id, limit_usd="1000")
    table_stream.pump()
    # Then the 50 and 80 % of $10 are not sent: they are not true at the limit in force
    assert _alerts(aws) == []


def test_a_limit_lowered_below_the_spend_alerts_at_once_and_once(
    api: Api, usage: Usage, aws: AwsResources, table_stream: TableStreamDriver
) -> None:
    # Given $20 spent of a $1,000 budget
    policy_id = _create(api, scope={"type": "tenant"}, limit_usd="1000")
    usage.spend("20")
    table_stream.pump()
    assert _alerts(aws) == []
    # When the limit is lowered to $10 (no new usage)
    _patch(api, policy_id, limit_usd="10")
    table_stream.pump()
    table_stream.redeliver_all()
    # Then every threshold it now stands past is sent once, at the new limit
    assert _alerts(aws) == [(50, "20.00", "10.00"), (80, "20.00", "10.00"), (100, "20.00", "10.00")]


# -- overlapping budgets ---------------------------------------------------------------------------


def _overlapping_bodies() -> list[dict[str, Any]]:
    """Distinct policies that all match one event (team ml, user ada, openai gpt-4o llm)."""
    scopes = [
        {"type": "tenant"},
        {"type": "team", "id": "ml"},
        {"type": "user", "id": "ada"},
        {"type": "api_key", "id": "k1"},
        {"type": "project", "id": "p1"},
    ]
    filters: list[dict[str, str]] = [
        {},
        {"provider": "openai"},
        {"model": "gpt-4o"},
        {"kind": "llm"},
        {"provider": "openai", "model": "gpt-4o"},
        {"provider": "openai", "kind": "llm"},
        {"model": "gpt-4o", "kind": "llm"},
        {"provider": "openai", "model": "gpt-4o", "kind": "llm"},
    ]
    periods = ["day", "week", "month", "quarter", "year", "total"]
    return [
        {"name": "o", "scope": s, "filters": f, "period": p, "limit_usd": "100"}
        for p in periods
        for s in scopes
        for f in filters
    ]


def test_a_policy_that_would_make_an_event_uncountable_is_refused_naming_the_overlap(
    api: Api, usage: Usage
) -> None:
    # Given as many overlapping policies as one event's commit can count
    from budget_core.domain.policies.overlap import MAX_POLICIES_PER_EVENT

    bodies = _overlapping_bodies()
    created = []
    for body in bodies[:MAX_POLICIES_PER_EVENT]:
        response = api("create_policy", body=body)
        assert response.status == 201, response.body
        created.append(response.body["policy_id"])
    # When one more that overlaps them all is created
    refused = api("create_policy", body=bodies[MAX_POLICIES_PER_EVENT])
    # Then it is a 409 naming the policies it overlaps
    assert refused.status == 409, refused.body
    assert refused.body["error"]["code"] == "too_many_overlapping_policies"
    assert set(refused.body["error"]["details"][0]["policy_ids"]) == set(created)
    # And an event under all of them still counts in every one
    usage.spend(
        "2.00",
        team_id="ml",
        user_id="ada",
        api_key_id="k1",
        project_id="p1",
        kind="llm",
        provider="openai",
        model="gpt-4o",
    )
    assert {_spent(api, policy_id) for policy_id in created[:10]} == {Decimal("2.00")}


def test_an_edit_that_would_overlap_too_many_is_refused(api: Api) -> None:
    from budget_core.domain.policies.overlap import MAX_POLICIES_PER_EVENT

    bodies = _overlapping_bodies()
    for body in bodies[:MAX_POLICIES_PER_EVENT]:
        assert api("create_policy", body=body).status == 201
    # Given one more policy that overlaps nothing (another user)
    apart = _create(api, scope={"type": "user", "id": "someone-else"}, period="day")
    # When it is moved onto the crowded event's user
    response = api(
        "patch_policy",
        policy_id=apart,
        body={"scope": {"type": "user", "id": "ada"}, "filters": {"provider": "anthropic"}},
        drop_headers=("if-match",),
    )
    assert response.status == 200, response.body  # anthropic: it never meets the openai policies
    response = api("patch_policy", policy_id=apart, body={"filters": {}}, drop_headers=("if-match",))
    # Then the edit that would make it meet all of them is refused
    assert response.status == 409, response.body
    assert response.body["error"]["code"] == "too_many_overlapping_policies"


# -- dead letters always carry their reason --------------------------------------------------------


def test_a_record_whose_reason_would_outgrow_a_queue_message_is_dead_lettered_once_with_it(
    api: Api, usage: Usage, aws: AwsResources
) -> None:
    # Given a ~650 KB record with 60,000 unknown fields, then a small invalid record, then a good one
    huge = {"event_id": "huge", "tenant_id": TENANT, **{f"f{i:05d}": 0 for i in range(60_000)}}
    batch: list[dict[str, Any] | bytes] = [huge, {"event_id": "small", "tenant_id": TENANT}]
    batch.append(
        {
            "event_id": "good",
            "tenant_id": TENANT,
            "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
            "kind": "custom",
            "cost_usd": "1.00",
        }
    )
    policy_id = _create(api, scope={"type": "tenant"})
    # When they are delivered
    result = usage.stream.deliver(batch)
    # Then nothing is retried, the good one counts, and each bad one is dead-lettered once with a
    # bounded reason; the huge one is referenced by its sequence number with its first KB
    assert result == {"batchItemFailures": []}
    assert _spent(api, policy_id) == Decimal("1.00")
    letters = {}
    for letter in aws.dead_letters():
        data = base64.b64decode(letter["data_base64"])
        letters["huge" if letter["data_truncated"] else json.loads(data)["event_id"]] = letter
    assert set(letters) == {"huge", "small"}
    big = letters["huge"]
    assert big["data_truncated"] is True
    assert big["data_bytes"] > 600_000
    assert len(base64.b64decode(big["data_base64"])) == 1024
    assert big["record_id"]
    assert "more" in big["reason"]
    assert len(big["reason"]) < 3000
    assert "timestamp" in letters["small"]["reason"]


# -- one clock for the event window ----------------------------------------------------------------


def _aged(event_id: str, age: timedelta) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "kind": "custom",
        "cost_usd": "1.00",
        "timestamp": (NOW - age).isoformat(),
    }


def test_an_event_the_api_accepts_is_never_too_old_when_ingested(
    api: Api, usage_stream: UsageStreamDriver, aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:

    # Given an event 35 days less 2 minutes old, and one 35 days less 1 second old
    policy_id = _create(api, scope={"type": "tenant"}, period="total")
    edge = timedelta(days=35)
    response = api(
        "record_usage",
        body={
            "events": [
                _aged("inside", edge - timedelta(minutes=2)),
                _aged("edge", edge - timedelta(seconds=1)),
            ]
        },
    )
    # Then the API refuses the one the stream might refuse by the time it arrives
    assert response.status == 202, response.body
    assert response.body["accepted"] == 1
    assert [f["event_id"] for f in response.body["failed"]] == ["edge"]
    # And the one it accepted counts, even when ingestion runs an hour later (stream lag): the
    # window is judged by the record's arrival on the stream, not by when it is read
    later = NOW + timedelta(hours=1)
    ingest_bootstrap.install(
        ingest_bootstrap.IngestRoot(
            settings_of(IngestSettings), FixedClock(later), ingest_bootstrap.root().dynamodb
        )
    )
    assert usage_stream.invoke(usage_stream.read_new()) == {"batchItemFailures": []}
    assert aws.dead_letters() == []
    assert _spent(api, policy_id) == Decimal("1.00")


# -- nothing grows without bound -------------------------------------------------------------------


def test_update_expressions_stay_under_dynamodbs_4_kb_whatever_the_labels(
    api: Api, usage: Usage, aws: AwsResources
) -> None:
    """Moto does not enforce DynamoDB's 4 KB expression limit: every expression is measured here."""

    # Given 300 events with distinct 128-character model and operation labels in one batch
    policy_id = _create(api, scope={"type": "tenant"}, limit_usd="1000")
    client = ingest_bootstrap.root().ingestor.ledger._client  # type: ignore[attr-defined]
    lengths: list[int] = []

    def measure(params: dict[str, Any], **_: Any) -> None:
        for action in params.get("TransactItems", []):
            for body in action.values():
                for name in ("UpdateExpression", "ConditionExpression"):
                    if name in body:
                        lengths.append(len(body[name].encode()))

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", measure)
    events = [
        {
            "event_id": f"label-{i}",
            "tenant_id": TENANT,
            "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
            "kind": "custom",
            "cost_usd": "0.01",
            "model": f"m{i:04d}".ljust(128, "x"),
            "operation": f"o{i:04d}".ljust(128, "y"),
        }
        for i in range(300)
    ]
    # When they are ingested
    assert usage.stream.deliver(events) == {"batchItemFailures": []}
    # Then every expression stayed under 4 KB, and every event counted
    assert lengths
    assert max(lengths) < 4096
    assert _spent(api, policy_id) == Decimal("3.00")


def _labelled(prefix: str, count: int, tenant: str = TENANT) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}-{i}",
            "tenant_id": tenant,
            "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
            "kind": "custom",
            "cost_usd": "0.01",
            "user_id": f"user-{i % 3}",
            "model": f"m{i:04d}".ljust(128, "x"),
            "operation": f"o{i:04d}".ljust(128, "y"),
        }
        for i in range(count)
    ]


def test_free_form_labels_never_outgrow_an_item_and_every_cent_stays_attributed(
    api: Api, usage: Usage, aws: AwsResources
) -> None:
    """Moto does not enforce DynamoDB's 400 KB item size: every item is measured here."""
    from bench.dynamodb_item_size import item_size

    # Given a tenant-wide policy, and 900 events with distinct 128-character model and operation
    # labels (past ~731 the rollups used to outgrow an item), then another tenant's event
    policy_id = _create(api, scope={"type": "tenant"}, limit_usd="1000")
    events = [*_labelled("wide", 900), {**_labelled("other-tenant", 1, "tenant-globex")[0]}]
    # When they are ingested, in batches of 300
    for first in range(0, len(events), 300):
        assert usage.stream.deliver(events[first : first + 300]) == {"batchItemFailures": []}
    # Then nothing was dead-lettered, and every event counted
    assert aws.dead_letters() == []
    assert _spent(api, policy_id) == Decimal("9.00")
    # And no item of the table passed a few kilobytes (the tenant's rollups hold 4 KB of labels)
    items = aws.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    rollups = [i for i in items if i.get("entity", {}).get("S") == "rollup"]
    assert rollups
    assert max(item_size(i) for i in rollups) < 6 * 1024
    assert max(item_size(i) for i in items) < 64 * 1024
    # And the summary's spend by model adds up to its total, the labels past the room as "(other)"
    summary = api("usage_summary", query={"start": (NOW - timedelta(hours=1)).isoformat()}).body
    assert Decimal(summary["cost_usd"]) == Decimal("9.00")
    by_model = summary["by_model"]
    assert "(other)" in by_model
    assert 1 < len(by_model) < 50
    assert sum(Decimal(v["cost_usd"]) for v in by_model.values()) == Decimal("9.00")
    assert sum(v["events"] for v in by_model.values()) == 900
    # And the labels that fitted are named with their exact spend
    named = [m for m in by_model if m != "(other)"]
    assert all(by_model[m] == {"cost_usd": "0.01", "events": 1, "unpriced_events": 0} for m in named)


def test_two_writers_admitting_labels_into_one_item_never_pass_its_room(aws: AwsResources) -> None:
    """Two ingest instances (each its own memory of the items) race for one rollup's room."""
    from bench.dynamodb_item_size import item_size
    from budget_core.adapters.shared.keys import rollup_key
    from budget_core.adapters.usage.dynamodb_usage_ledger import DynamoDBUsageLedger
    from budget_core.adapters.usage.rollup_labels import SCOPE_ROOM, USED_ATTRIBUTE
    from budget_core.domain.usage.accounting import PricedEvent, plan_commits
    from budget_core.domain.usage.ingestion import decode_event
    from budget_core.domain.usage.pricing.quote import PriceQuote

    # Given two ledgers, each believing the user's daily rollup is empty
    writers = [
        DynamoDBUsageLedger(aws.dynamodb, TABLE_NAME, timedelta(days=40), FixedClock(NOW)) for _ in range(2)
    ]

    def commit(writer: DynamoDBUsageLedger, events: list[dict[str, Any]]) -> None:
        priced = [
            PricedEvent(
                decode_event(str(i), json.dumps(e).encode(), NOW), PriceQuote(Decimal("0.01"), "t"), str(i)
            )
            for i, e in enumerate(events)
        ]
        for planned in plan_commits(priced, {TENANT: ()}, config_versions={TENANT: 0}):
            assert writer.try_commit(planned) == set()

    short = [
        {**e, "user_id": "solo", "model": f"model-{i}".ljust(60, "z"), "operation": "chat"}
        for i, e in enumerate(_labelled("short", 40))
    ]
    # When each commits labels the other does not know of, in turns
    for turn in range(4):
        commit(
            writers[turn % 2],
            [{**e, "event_id": f"{e['event_id']}-{turn}"} for e in short[turn * 10 : turn * 10 + 10]],
        )
        commit(
            writers[(turn + 1) % 2],
            [{**e, "event_id": f"{e['event_id']}-again-{turn}"} for e in short[turn * 10 : turn * 10 + 10]],
        )
    # Then the item's labels stayed within the room, and all 80 events are in it, named or "other"
    day = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d")
    item = aws.dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={k: {"S": v} for k, v in rollup_key(TENANT, "user_id", "solo", "D", day).items()},
    )["Item"]
    assert int(item[USED_ATTRIBUTE]["N"]) <= SCOPE_ROOM
    assert item_size(item) < 2 * 1024
    entries = {n: int(v["N"]) for n, v in item.items() if n.startswith("j#") and n.endswith("#n")}
    assert int(item["events"]["N"]) == 80
    assert sum(entries.values()) < 80  # the labels past the room are in the totals only
    # And each label admitted holds both of its commits (no writer left it out once it was in,
    # since each learnt the item when its claim failed)
    assert entries
    assert all(c == 2 for c in entries.values())
