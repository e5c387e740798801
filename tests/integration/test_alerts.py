"""AlertFunction through its real handler: spend goes in through the real ingest handler, the
table's stream records are read off moto and passed through the template's FilterCriteria, and
alerts arrive on an SQS queue subscribed to the AlertTopic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import alert_delivery
import alert_redelivery_app
import alerts_app
import ingest_bootstrap
from budget_core.adapters.alerts.dynamodb_alert_claims import DynamoDBAlertClaims
from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
from budget_core.adapters.shared.dynamodb_codec import from_item
from budget_core.domain.alerts.rules import detect_crossings
from budget_core.platform.settings import AlertDeliverySettings, settings_of
from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.sample_events import load_event
from tests.integration.conftest import ApiResponse
from tests.support.aws import ALERT_DLQ_URL, REGION, TABLE_NAME, AwsResources
from tests.support.clocks import SteppingClock
from tests.support.counters import RULE, counter
from tests.support.fakes import stored_policy
from tests.support.flaky_client import FlakyClient, throttled
from tests.support.policies import create_policy
from tests.support.table_stream import TableStreamDriver
from tests.support.usage_stream import UsageStreamDriver

Api = Callable[..., ApiResponse]
TENANT = "tenant-acme"  # the tenant of the sample API events' tokens


@pytest.fixture
def clock() -> SteppingClock:
    """Every function's time in these tests (the roots are built with it): a spend step moves it."""
    return SteppingClock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


@pytest.fixture
def table_stream(aws: AwsResources, fresh_handlers: None) -> TableStreamDriver:
    driver = TableStreamDriver(aws)
    driver.read_new()  # start after the set-up writes, like an event source mapping created LATEST
    return driver


def _policy(api: Api, **fields: Any) -> str:
    """A $100 monthly budget on the whole tenant unless ``fields`` say otherwise; returns its id."""
    return create_policy(
        api, **{"name": "Research", "scope": {"type": "tenant"}, "limit_usd": "100", **fields}
    )


class Spender:
    """Spends exact amounts through the real ingest handler, then lets the alert function see it."""

    def __init__(self, usage: UsageStreamDriver, table: TableStreamDriver, clock: SteppingClock) -> None:
        self.usage, self.table, self.clock, self.count = usage, table, clock, 0

    def ingest(self, amount: str) -> None:
        """Counts ``amount`` through the ingest handler; the alert function has not seen it yet."""
        self.count += 1
        self.clock.moment += timedelta(minutes=1)
        event = {
            "event_id": f"spend-{self.count}",
            "tenant_id": TENANT,
            "timestamp": self.clock.moment.isoformat(),
            "kind": "custom",
            "cost_usd": amount,
        }
        assert self.usage.deliver([event]) == {"batchItemFailures": []}

    def spend(self, amount: str) -> None:
        self.ingest(amount)
        self.table.pump()


@pytest.fixture
def spender(
    usage_stream: UsageStreamDriver, table_stream: TableStreamDriver, clock: SteppingClock
) -> Spender:
    return Spender(usage_stream, table_stream, clock)


def _received(aws: AwsResources) -> list[tuple[str, str, int]]:
    return [(a["period_key"], a["kind"], a["threshold_percent"]) for a in aws.alerts()]


def test_spend_climbing_past_thresholds_alerts_once_per_threshold_despite_redelivery(
    api: Api,
    aws: AwsResources,
    spender: Spender,
    table_stream: TableStreamDriver,
    usage_stream: UsageStreamDriver,
) -> None:
    # Given a $100 monthly budget with the default thresholds 50, 80 and 100
    policy_id = _policy(api)
    # When spend goes 10 % -> 45 % -> 95 % -> 130 %
    for amount in ("10", "35", "50", "35"):
        spender.spend(amount)
    # And both streams hand everything over again, twice
    for _ in range(2):
        usage_stream.deliver_until_done(usage_stream.delivered)
        table_stream.pump()
        table_stream.redeliver_all()
    # Then the subscriber got exactly the 50, 80 and 100 alerts, once each
    alerts = aws.alerts()
    assert [(a["kind"], a["threshold_percent"]) for a in alerts] == [
        ("actual", 50),
        ("actual", 80),
        ("actual", 100),
    ]
    fifty, eighty, hundred = alerts
    assert (fifty["spent_usd"], eighty["spent_usd"], hundred["spent_usd"]) == ("95.00", "95.00", "130.00")
    assert (hundred["limit_usd"], hundred["policy_id"]) == ("100.00", policy_id)
    assert hundred["_attributes"] == {
        "tenant_id": TENANT,
        "policy_id": policy_id,
        "kind": "actual",
        "threshold_percent": "100",
        "scope_type": "tenant",
    }
    assert hundred["_subject"] == "Budget alert: Research reached 100% of $100.00 in 2026-11"
    assert len({a["alert_id"] for a in alerts}) == 3
    # And the bus carries the crossings and one "budget exceeded" event for other services
    kinds = sorted(e["detail-type"] for e in aws.bus_events() if e["source"] == "budget-service.budgets")
    assert kinds == ["Budget Exceeded"] + ["Budget Threshold Crossed"] * 3


def test_a_new_period_starts_clean(
    api: Api, aws: AwsResources, spender: Spender, clock: SteppingClock
) -> None:
    # Given November ended at 95 % of the budget (50 and 80 sent)
    _policy(api)
    spender.spend("95")
    assert _received(aws) == [("2026-11", "actual", 50), ("2026-11", "actual", 80)]
    # When December starts and spend reaches 60 % of it
    clock.moment = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    spender.spend("10")
    spender.spend("50")
    # Then December has its own 50 % alert
    assert _received(aws) == [("2026-12", "actual", 50)]


def test_an_alert_whose_publish_failed_once_still_arrives_once(
    api: Api, aws: AwsResources, spender: Spender
) -> None:
    # Given the alert topic refuses the next publish
    sns = _failing_sns(spender, failures=1)
    _policy(api)
    # When spend crosses 50 % (the driver plays Lambda's retry of the failed record)
    spender.spend("60")
    # Then the alert arrived once, after two publish attempts
    assert _received(aws) == [("2026-11", "actual", 50)]
    assert sns.calls["publish"] == 2


def test_a_jump_over_every_threshold_reports_each_one(api: Api, aws: AwsResources, spender: Spender) -> None:
    _policy(api, alert_thresholds=[25, 50, 75, 90, 100, 150])
    spender.spend("160")
    assert [t for _, _, t in _received(aws)] == [25, 50, 75, 90, 100, 150]


def test_a_forecast_alert_comes_once_when_the_run_rate_projects_past_the_limit(
    api: Api, aws: AwsResources, spender: Spender, clock: SteppingClock
) -> None:
    # Given a budget with forecast alerts and no thresholds, half of November gone
    _policy(api, alert_thresholds=[], forecast_alerts=True)
    clock.moment = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
    # When $40 is spent (projects $80), then $15 more (projects ~$110), then $5 more
    spender.spend("40")
    spender.spend("15")
    spender.spend("5")
    # Then one forecast alert came, with its projection
    (alert,) = aws.alerts()
    assert (alert["kind"], alert["threshold_percent"]) == ("forecast", 100)
    assert 109 < float(alert["forecast_usd"]) < 111
    assert alert["_subject"].startswith("Budget forecast: Research on course to exceed $100.00")


def test_configure_alert_changes_what_the_next_writes_alert_on(
    api: Api, aws: AwsResources, spender: Spender
) -> None:
    policy_id = _policy(api)
    spender.spend("10")
    # When the thresholds are replaced through PUT /v1/policies/{id}/alerts
    response = api("configure_alert", policy_id=policy_id, body={"thresholds": [20, 30], "forecast": False})
    assert response.status == 200, response.body
    assert response.body["alert_thresholds"] == [20, 30]
    assert response.headers["etag"] == '"2"'
    ingest_bootstrap.install(ingest_bootstrap.root().cold())  # its policy cache expires (the TTL)
    spender.spend("25")
    # Then the alerts follow the new thresholds
    assert [t for _, _, t in _received(aws)] == [20, 30]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"thresholds": ["50"]}, "thresholds"),
        ({"thresholds": [50.5]}, "thresholds"),
        ({"thresholds": [50, 50]}, "thresholds"),
        ({"thresholds": [0]}, "thresholds"),
        ({"thresholds": [1001]}, "thresholds"),
        ({"thresholds": list(range(10, 120, 10))}, "thresholds"),
        ({"thresholds": [50], "forecast": "yes please"}, "forecast"),
        ({"forecast": True}, "thresholds"),
        ({"thresholds": [50], "surprise": 1}, "surprise"),
    ],
)
def test_bad_alert_settings_are_refused_with_the_field_named(
    api: Api, body: dict[str, Any], field: str
) -> None:
    policy_id = _policy(api)
    response = api("configure_alert", policy_id=policy_id, body=body)
    assert response.status == 422, response.body
    assert any(field in str(d.get("field", "")) for d in response.body["error"]["details"]), response.body


def test_configure_alert_needs_an_admin_and_an_existing_policy(api: Api) -> None:
    policy_id = _policy(api)
    body = {"thresholds": [50]}
    assert api("configure_alert", policy_id=policy_id, roles="[viewer]", body=body).status == 403
    assert api("configure_alert", policy_id="pol_" + "0" * 28, body=body).status == 404
    assert api("configure_alert", policy_id=policy_id, tenant="tenant-other", body=body).status == 404


def test_alert_history_lists_newest_first_pages_and_filters(
    api: Api, aws: AwsResources, spender: Spender
) -> None:
    # Given two policies that alerted
    first = _policy(api)
    second = _policy(api, scope={"type": "team", "id": "research"}, limit_usd="10")
    spender.spend("60")  # tenant policy: 50; the team policy is not matched (no team on the event)
    aws.alerts()
    api("configure_alert", policy_id=second, body={"thresholds": [10]})
    ingest_bootstrap.install(ingest_bootstrap.root().cold())
    spender.spend("30")  # tenant policy: 80
    # When the history is read a page of one at a time
    page = api("list_alerts", query={"limit": "1"})
    assert page.status == 200, page.body
    (newest,) = page.body["items"]
    assert (newest["threshold_percent"], newest["delivered"]) == (80, True)
    rest = api("list_alerts", query={"limit": "1", "next_token": page.body["next_token"]})
    (older,) = rest.body["items"]
    assert older["threshold_percent"] == 50
    assert (
        rest.body["next_token"] is None
        or api("list_alerts", query={"limit": "1", "next_token": rest.body["next_token"]}).body["items"] == []
    )
    # And filters by policy and by time
    assert [a["policy_id"] for a in api("list_alerts", query={"policy_id": first}).body["items"]] == [
        first
    ] * 2
    assert api("list_alerts", query={"policy_id": second}).body["items"] == []
    assert api("list_alerts", query={"since": "2099-01-01"}).body["items"] == []
    # And another tenant sees none of it
    assert api("list_alerts", tenant="tenant-other").body["items"] == []
    # And a forged token is refused
    assert api("list_alerts", query={"next_token": "eyJzIjoiKiJ9"}).status == 400


def test_counters_of_a_deleted_policy_raise_no_alert(
    api: Api, aws: AwsResources, spender: Spender, table_stream: TableStreamDriver
) -> None:
    # Given a policy whose counter crossed 50 %, but which was deleted before the alert function ran
    policy_id = _policy(api)
    spender.ingest("60")
    assert api("delete_policy", policy_id=policy_id, drop_headers=("if-match",)).status == 204
    # When the alert function sees the counter change
    assert table_stream.pump()
    # Then nothing is sent and nothing is retried
    assert aws.alerts() == []
    assert aws.dead_letters(ALERT_DLQ_URL) == []


def test_records_that_are_not_counters_or_cannot_be_read_never_fail_the_batch(
    aws: AwsResources, table_stream: TableStreamDriver
) -> None:
    # Given a batch with a usage-event record (past the filter), a REMOVE and an unreadable counter
    base = {"eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": REGION}
    records = [
        {
            **base,
            "eventID": "1",
            "eventName": "INSERT",
            "dynamodb": {
                "SequenceNumber": "101",
                "NewImage": {"pk": {"S": "T#t#E#e"}, "entity": {"S": "usage"}},
            },
        },
        {
            **base,
            "eventID": "2",
            "eventName": "REMOVE",
            "dynamodb": {
                "SequenceNumber": "102",
                "OldImage": {"pk": {"S": "T#t#P#p"}, "entity": {"S": "counter"}},
            },
        },
        {
            **base,
            "eventID": "3",
            "eventName": "MODIFY",
            "dynamodb": {
                "SequenceNumber": "103",
                "NewImage": {"entity": {"S": "counter"}, "limit_usd": {"S": "lots"}},
            },
        },
    ]
    # When the function gets it
    result = table_stream.invoke(records)
    # Then no record is failed, and the unreadable counter waits in the DLQ with its reason
    assert result == {"batchItemFailures": []}
    (letter,) = aws.dead_letters(ALERT_DLQ_URL)
    assert letter["record_id"] == "103"
    assert "limit_usd" in letter["reason"]


def test_the_sample_stream_event_alerts_on_50_and_80(aws: AwsResources, fresh_handlers: None) -> None:
    # Given the policy of the sample (events/alerts, what `sam local invoke AlertFunction -e` takes)
    event = load_event("alerts/counter_crosses_50_and_80.json")
    new_image = from_item(event["Records"][0]["dynamodb"]["NewImage"])
    stored = stored_policy(
        new_image["tenant_id"],
        new_image["policy_id"],
        name=new_image["policy_name"],
        scope={"type": new_image["scope_type"], "id": new_image["scope_id"]},
        period=new_image["period"],
        limit_usd=new_image["limit_usd"],
    )
    DynamoDBPolicyRepository(aws.dynamodb, TABLE_NAME).create(stored)
    # When the handler gets the sample
    result = alerts_app.handler(event, LocalLambdaContext(function_name="alerts"))
    # Then 40 % -> 81.7 % sent the 50 and 80 alerts
    assert result == {"batchItemFailures": []}
    assert _received(aws) == [("2026-11", "actual", 50), ("2026-11", "actual", 80)]


def _failing_sns(spender: Spender, failures: int) -> FlakyClient:
    sns = FlakyClient(boto3.client("sns", region_name=REGION))
    sns.fail_next("publish", *[lambda _: throttled("Publish")] * failures)
    alert_delivery.install(
        alert_delivery.AlertRoot(settings_of(AlertDeliverySettings), spender.clock, {"sns": sns})
    )
    return sns


@dataclass
class PendingAlert:
    policy_id: str
    records: list[Any]  # the counter records the alert function failed on
    result: dict[str, Any]


@pytest.fixture
def pending_alert(api: Api, spender: Spender, table_stream: TableStreamDriver) -> PendingAlert:
    """A 50 % crossing whose publish the topic refused once: claimed, not delivered."""
    _failing_sns(spender, failures=1)
    policy_id = _policy(api)
    spender.ingest("60")
    records = table_stream.read_new()
    return PendingAlert(policy_id, records, table_stream.invoke(records))


def test_an_alert_left_pending_when_the_stream_gave_up_is_delivered_by_the_sweep(
    api: Api, aws: AwsResources, table_stream: TableStreamDriver, pending_alert: PendingAlert
) -> None:
    # Given the topic refused the publish, and the stream gives up on the record (no more retries)
    records = pending_alert.records
    assert len(pending_alert.result["batchItemFailures"]) == 1
    assert aws.alerts() == []
    assert api("list_alerts").body["items"][0]["delivery"] == "pending"
    # When the scheduled sweep runs (twice)
    first = alert_redelivery_app.handler({"source": "aws.events"}, LocalLambdaContext())
    second = alert_redelivery_app.handler({"source": "aws.events"}, LocalLambdaContext())
    # Then the alert arrived once, and is no longer pending
    assert _received(aws) == [("2026-11", "actual", 50)]
    assert (first["sent"], second["leased"]) == (1, 0)
    assert api("list_alerts").body["items"][0]["delivery"] == "delivered"
    # And a late redelivery of the record sends nothing more
    assert table_stream.invoke(records) == {"batchItemFailures": []}
    assert aws.alerts() == []


def test_the_sweep_skips_a_pending_alert_whose_policy_was_deleted(
    api: Api, aws: AwsResources, pending_alert: PendingAlert
) -> None:
    policy_id = pending_alert.policy_id
    assert api("delete_policy", policy_id=policy_id, drop_headers=("if-match",)).status == 204
    report = alert_redelivery_app.handler({}, LocalLambdaContext())
    assert (report["skipped"], report["sent"]) == (1, 0)
    assert aws.alerts() == []
    assert api("list_alerts").body["items"][0]["delivery"] == "skipped"
    assert alert_redelivery_app.handler({}, LocalLambdaContext())["leased"] == 0


def test_a_claim_leased_by_a_deliverer_that_stopped_waits_for_its_lease_to_run_out(
    api: Api, aws: AwsResources, fresh_handlers: None
) -> None:
    # Given a claim made by a deliverer that crashed before publishing (its lease runs 60 s)
    policy_id = _policy(api)
    moment = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    clock = SteppingClock(moment)
    claims = DynamoDBAlertClaims(aws.dynamodb, TABLE_NAME, timedelta(days=400), clock)
    alert = detect_crossings(None, replace(counter("60"), tenant_id=TENANT, policy_id=policy_id), RULE)[0]
    assert len(claims.claim([alert]).pending) == 1
    # When another deliverer looks within the lease, Then it leaves the claim alone
    assert claims.lease_pending(10) == []
    assert claims.claim([alert]).in_flight == 1
    # And once the lease ran out, the claim is taken over, and delivered once
    clock.moment = moment + timedelta(seconds=61)
    (taken,) = claims.lease_pending(10)
    claims.record_delivery([replace(taken, notified=True, announced=True)])
    assert claims.lease_pending(10) == []
    assert claims.claim([alert]).duplicates == 1


def test_a_history_token_only_works_with_the_query_it_came_from(
    api: Api, aws: AwsResources, spender: Spender
) -> None:
    _policy(api)
    spender.spend("90")
    page = api("list_alerts", query={"limit": "1", "since": "2026-11-01"})
    assert page.body["next_token"]
    other = api(
        "list_alerts", query={"limit": "1", "since": "2026-11-02", "next_token": page.body["next_token"]}
    )
    assert other.status == 400
    assert other.body["error"]["details"][0]["field"] == "next_token"
