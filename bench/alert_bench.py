"""Alerting benchmark, printed as JSON (run: `make bench`).

Spend climbs through a $1,000 monthly budget (thresholds 50, 80, 100) in $6 steps, through the real
ingest handler; every resulting table-stream record (after the template's FilterCriteria) goes to
the real AlertFunction handler one at a time, and the DynamoDB requests and SNS publishes it makes
are counted at the botocore level. Then the whole stream is delivered again, as Lambda may.

Targets (README, "Figures"): 0 DynamoDB requests for a record that crosses nothing; at most 2 plus the publish
for a record that crosses a threshold.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions" / "usage_ingest"), str(ROOT / "functions" / "alerts")]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "TABLE_NAME": "bench-alerts",
        "EVENT_BUS_NAME": "bench-alert-events",
        "USAGE_DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/budget-usage-dlq",
        "ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:budget-alerts",
        "ALERT_DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/budget-alert-dlq",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
)

import boto3  # noqa: E402

STEP_USD = "6"
STEPS = 200  # $1,200 of a $1,000 budget
TARGETS = {"dynamodb_requests_per_quiet_record": 0, "dynamodb_requests_per_crossing_record": 2}


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_name
        client.meta.events.register(
            f"provide-client-params.{service}",
            lambda model, **_: self.calls.update([f"{service}:{model.name}"]),
        )
        return client

    def total(self, service: str) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(f"{service}:"))


def main() -> int:
    # The handlers print their EMF metrics on stdout; the report is the only thing this prints.
    with contextlib.redirect_stdout(io.StringIO()):
        report = measure()
    print(json.dumps(report, indent=2))
    return 0


def measure() -> dict[str, Any]:
    from moto import mock_aws
    from workload import stored_policy

    from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
    from budget_service.emulator.kinesis_events import lambda_event as kinesis_event
    from budget_service.emulator.lambda_context import LocalLambdaContext
    from budget_service.emulator.moto_isolation import serialize_dynamodb_operations
    from budget_service.emulator.table_stream_events import (
        lambda_event,
        read_lambda_records,
        read_new_records,
        template_filter,
    )
    from budget_service.templates.provision import ProvisionedNames, provision

    serialize_dynamodb_operations()
    with mock_aws():
        provisioned = provision(ProvisionedNames("bench-alerts", "bench-alert-events"), REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        now = datetime(2026, 11, 20, tzinfo=UTC)
        body = {"name": "bench", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "1000"}
        DynamoDBPolicyRepository(dynamodb, "bench-alerts").create(stored_policy(body, "bench", now))
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        iterators: dict[str, str | None] = {}
        read_new_records(streams, provisioned.table_stream_arn, iterators)  # start after the set-up

        import alerts_app
        import usage_ingest_app

        clock = {"now": now}
        import ingest_bootstrap
        from budget_core.platform.settings import IngestSettings, settings_of

        class _BenchClock:
            def now(self) -> datetime:
                return clock["now"]

        ingest_bootstrap.install(ingest_bootstrap.IngestRoot(settings_of(IngestSettings), _BenchClock()))
        for step in range(STEPS):
            clock["now"] += timedelta(minutes=1)
            event = {
                "event_id": f"bench-{step}",
                "tenant_id": "bench",
                "timestamp": clock["now"].isoformat(),
                "kind": "custom",
                "cost_usd": STEP_USD,
            }
            record = {
                "Data": json.dumps(event).encode(),
                "PartitionKey": "bench",
                "SequenceNumber": str(step + 1),
            }
            result = usage_ingest_app.handler(
                kinesis_event([record], provisioned.usage_stream_arn, REGION), LocalLambdaContext()
            )
            assert result == {"batchItemFailures": []}, result

        passes = template_filter("AlertFunction", "SpendCounters")
        records = read_lambda_records(streams, provisioned.table_stream_arn, iterators, REGION, passes)

        counter = CallCounter()
        real_client = boto3.client

        def counted_client(name: str, *args: Any, **kwargs: Any) -> Any:
            return counter.attach(real_client(name, *args, **kwargs))

        boto3.client = counted_client  # type: ignore[assignment]

        def deliver_each() -> list[tuple[int, int]]:
            """(DynamoDB requests, SNS publishes) of each record, handed over one at a time."""
            per_record = []
            for record in records:
                before_ddb, before_sns = counter.total("dynamodb"), counter.calls["sns:Publish"]
                answer = alerts_app.handler(
                    lambda_event([record]), LocalLambdaContext(function_name="alerts")
                )
                assert answer == {"batchItemFailures": []}, answer
                per_record.append(
                    (counter.total("dynamodb") - before_ddb, counter.calls["sns:Publish"] - before_sns)
                )
            return per_record

        first = deliver_each()
        first_pass = dict(counter.calls)
        deliver_each()
        redelivery = {
            k: v - first_pass.get(k, 0) for k, v in counter.calls.items() if v - first_pass.get(k, 0)
        }
        # A crossing publishes on its first delivery (every threshold here notifies subscribers).
        quiet = [ddb for ddb, published in first if not published]
        crossing = [(ddb, published) for ddb, published in first if published]

    report: dict[str, Any] = {
        "benchmark": "threshold alerts",
        "stream_records": len(records),
        "records_crossing_nothing": len(quiet),
        "records_crossing": len(crossing),
        "dynamodb_requests_per_quiet_record": (sum(quiet) / len(quiet)) if quiet else 0,
        "dynamodb_requests_per_crossing_record": max((d for d, _ in crossing), default=0),
        "sns_publishes_per_crossing_record": [p for _, p in crossing],
        "calls_first_delivery": first_pass,
        "calls_on_redelivery_of_every_record": redelivery,
        "targets": TARGETS,
    }
    report["within_targets"] = {
        name: report[name] <= target
        for name, target in TARGETS.items()  # type: ignore[operator]
    }
    return report


if __name__ == "__main__":
    raise SystemExit(main())
