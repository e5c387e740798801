"""Ingestion benchmarks, printed as JSON (run: `make bench`).

(a) DynamoDB requests and estimated write request units per 1,000 events of the realistic batch
    (bench/workload.py), counted at the botocore level on the real handler, next to a naive design
    measured in the same run: one transaction per event (the event and its counters).
(b) CPU microseconds per event for decode + validate + price + aggregate over 10,000 records, as a
    ratio to plain ``json.loads`` of the same records in the same run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions" / "usage_ingest"), str(ROOT / "bench")]
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "TABLE_NAME": "bench-budget",
        "EVENT_BUS_NAME": "bench-events",
        "USAGE_DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/budget-usage-dlq",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
)

import boto3  # noqa: E402
from dynamodb_item_size import item_size, write_units  # noqa: E402
from workload import TENANTS, events, policies_for, quiet_moment, stored_policy  # noqa: E402

REGION = "eu-west-1"
EVENTS_PER_BATCH = 1000
CPU_RECORDS = 10_000
TARGETS = {"requests_per_1000_events": 20, "write_units_per_event": 3.0, "cpu_ratio_to_json_loads": 10.0}


class RequestCounter:
    """Counts every DynamoDB request a client makes, and what its transactions write."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        self.puts: list[int] = []  # sizes of transactional puts
        self.updated_keys: list[dict[str, Any]] = []
        self.transactional_actions = 0
        self.largest_item_bytes = 0
        client.meta.events.register("provide-client-params.dynamodb", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests[model.name] += 1
        if model.name == "TransactWriteItems":
            for action in params["TransactItems"]:
                self.transactional_actions += 1
                if "Put" in action:
                    self.puts.append(item_size(action["Put"]["Item"]))
                elif "Update" in action:
                    self.updated_keys.append(action["Update"]["Key"])

    def write_units(self, reader: Any, table: str) -> int:
        # An update is billed on the larger of the item before and after; the final size bounds both.
        sizes: dict[str, int] = {}
        total = sum(write_units(size, transactional=True) for size in self.puts)
        for key in self.updated_keys:
            marker = json.dumps(key, sort_keys=True)
            if marker not in sizes:
                item = reader.get_item(TableName=table, Key=key)["Item"]
                sizes[marker] = item_size(item)
                self.largest_item_bytes = max(self.largest_item_bytes, sizes[marker])
            total += write_units(sizes[marker], transactional=True)
        return total


def _create_policies(client: Any, table: str, now: datetime) -> None:
    from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository

    repository = DynamoDBPolicyRepository(client, table)
    for tenant in TENANTS:
        for body in policies_for(tenant):
            repository.create(stored_policy(body, tenant, now))


def _relabel(batch: list[bytes], distinct: int) -> list[bytes]:
    """The same events with ``distinct`` free-form 128-character model and operation labels."""
    relabelled = []
    for index, data in enumerate(batch):
        event = json.loads(data)
        label = f"{index % distinct:05d}".ljust(128, "x")
        event.update(kind="custom", model=f"m{label}"[:128], operation=f"o{label}"[:128], cost_usd="0.001")
        event.pop("usage", None)
        relabelled.append(json.dumps(event, separators=(",", ":")).encode())
    return relabelled


def measure_requests(with_naive: bool = True, distinct_labels: int | None = None) -> dict[str, Any]:
    from moto import mock_aws

    from budget_service.emulator.kinesis_events import lambda_event
    from budget_service.emulator.moto_isolation import serialize_dynamodb_operations
    from budget_service.templates.provision import ProvisionedNames, provision

    serialize_dynamodb_operations()
    with mock_aws():
        provision(ProvisionedNames("bench-budget", "bench-events"), REGION)
        reader = boto3.client("dynamodb", region_name=REGION)
        moment = quiet_moment()
        _create_policies(reader, "bench-budget", moment - timedelta(days=1))
        batch = events(EVENTS_PER_BATCH, seed=11, now=moment)
        if distinct_labels is not None:
            batch = _relabel(batch, distinct_labels)
        records = [
            {"Data": data, "PartitionKey": json.loads(data)["tenant_id"], "SequenceNumber": str(i + 1)}
            for i, data in enumerate(batch)
        ]

        import usage_ingest_app

        client = boto3.client("dynamodb", region_name=REGION)
        counter = RequestCounter(client)
        import ingest_bootstrap
        from budget_core.domain.shared.clock import FixedClock
        from budget_core.platform.settings import IngestSettings, settings_of

        ingest_bootstrap.install(
            ingest_bootstrap.IngestRoot(
                settings_of(IngestSettings),
                FixedClock(moment),
                client,
                boto3.client("sqs", region_name=REGION),
            )
        )
        from budget_service.emulator.lambda_context import LocalLambdaContext

        result = usage_ingest_app.handler(
            lambda_event(records, "arn:aws:kinesis:eu-west-1:1:stream/s", REGION), LocalLambdaContext()
        )
        assert result == {"batchItemFailures": []}, result
        ours = {
            "requests": sum(counter.requests.values()),
            "requests_by_operation": dict(counter.requests),
            "transactional_actions": counter.transactional_actions,
            "average_put_item_bytes": round(sum(counter.puts) / max(len(counter.puts), 1)),
            "write_units": counter.write_units(reader, "bench-budget"),
            "largest_updated_item_bytes": counter.largest_item_bytes,
        }

        if not with_naive:
            return _report(ours, None)
        # The naive design, same events, same code, one event per transaction.
        from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
        from budget_core.adapters.usage.dynamodb_usage_ledger import DynamoDBUsageLedger
        from budget_core.domain.usage.accounting import PricedEvent, plan_commits
        from budget_core.domain.usage.ingestion import decode_event
        from budget_core.domain.usage.pricing.pricer import Pricer

        naive_client = boto3.client("dynamodb", region_name=REGION)
        provision(
            ProvisionedNames("bench-naive", "bench-naive-events", "bench-naive-usage", "bench-naive-dlq"),
            REGION,
        )
        _create_policies(naive_client, "bench-naive", moment - timedelta(days=1))
        naive = RequestCounter(naive_client)
        configs = DynamoDBTenantConfigSource(naive_client, "bench-naive")
        ledger = DynamoDBUsageLedger(naive_client, "bench-naive", timedelta(days=90), FixedClock(moment))
        pricer = Pricer()
        for index, data in enumerate(batch):
            event = decode_event(str(index), data, moment)
            config = configs.load(event.tenant_id)  # type: ignore[union-attr]
            priced = PricedEvent(event, pricer.quote(event, config.overrides), str(index))  # type: ignore[arg-type]
            for commit in plan_commits(
                [priced],
                {event.tenant_id: config.policies},  # type: ignore[union-attr]
                config_versions={event.tenant_id: config.version},  # type: ignore[union-attr]
            ):
                ledger.try_commit(commit)
        naive_figures = {
            "requests": sum(naive.requests.values()),
            "requests_by_operation": dict(naive.requests),
            "write_units": naive.write_units(reader, "bench-naive"),
        }
    return _report(ours, naive_figures)


def _report(ours: dict[str, Any], naive: dict[str, Any] | None) -> dict[str, Any]:
    per_thousand = 1000 / EVENTS_PER_BATCH
    report: dict[str, Any] = {
        "events": EVENTS_PER_BATCH,
        "requests_per_1000_events": round(ours["requests"] * per_thousand, 1),
        "write_units_per_event": round(ours["write_units"] / EVENTS_PER_BATCH, 3),
        "detail": ours,
    }
    if naive is not None:
        report["naive_one_transaction_per_event"] = {
            "requests_per_1000_events": round(naive["requests"] * per_thousand, 1),
            "write_units_per_event": round(naive["write_units"] / EVENTS_PER_BATCH, 3),
            "detail": naive,
        }
        report["requests_ratio_to_naive"] = round(ours["requests"] / naive["requests"], 4)
    return report


def measure_cpu() -> dict[str, Any]:
    from budget_core.domain.usage.accounting import PricedEvent, plan_commits
    from budget_core.domain.usage.ingestion import decode_event
    from budget_core.domain.usage.ports import Rejection
    from budget_core.domain.usage.pricing.pricer import Pricer

    now = datetime.now(UTC)
    records = events(CPU_RECORDS, seed=5, now=now)
    policies = {
        tenant: [stored_policy(body, tenant, now) for body in policies_for(tenant)] for tenant in TENANTS
    }
    pricer = Pricer()

    def pipeline() -> None:
        priced = []
        for index, data in enumerate(records):
            event = decode_event(str(index), data, now)
            assert not isinstance(event, Rejection)
            priced.append(PricedEvent(event, pricer.quote(event, {}), str(index)))
        plan_commits(priced, policies)

    def baseline() -> None:
        for data in records:
            json.loads(data)

    pipeline()  # warm: the price catalogue resolves each model once per process
    timings: dict[str, float] = {}
    for name, work in (("json_loads", baseline), ("pipeline", pipeline)):
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            work()
            best = min(best, time.process_time() - start)
        timings[name] = best
    per_event = {name: seconds / CPU_RECORDS * 1e6 for name, seconds in timings.items()}
    return {
        "records": CPU_RECORDS,
        "json_loads_us_per_event": round(per_event["json_loads"], 2),
        "pipeline_us_per_event": round(per_event["pipeline"], 2),
        "cpu_ratio_to_json_loads": round(per_event["pipeline"] / per_event["json_loads"], 2),
    }


DISTINCT_LABELS = 1000
DISTINCT_LABELS_TARGET = 3.5  # write units per event with 1,000 distinct labels in a day


def distinct_labels_figure() -> dict[str, Any]:
    """The same batch with 1,000 distinct 128-character model and operation labels in its day."""
    try:
        measured = measure_requests(with_naive=False, distinct_labels=DISTINCT_LABELS)
    except (RuntimeError, AssertionError) as error:  # a batch the handler could not commit whole
        return {
            "distinct_labels_per_day": DISTINCT_LABELS,
            "failed": str(error)[:300],
            "target_write_units_per_event": DISTINCT_LABELS_TARGET,
            "within_target": False,
        }
    return {
        "distinct_labels_per_day": DISTINCT_LABELS,
        "requests_per_1000_events": measured["requests_per_1000_events"],
        "write_units_per_event": measured["write_units_per_event"],
        "largest_updated_item_bytes": measured["detail"]["largest_updated_item_bytes"],
        "target_write_units_per_event": DISTINCT_LABELS_TARGET,
        "within_target": measured["write_units_per_event"] <= DISTINCT_LABELS_TARGET,
    }


def main() -> int:
    if "--distinct-labels" in sys.argv:  # that figure alone
        print(json.dumps(distinct_labels_figure(), indent=2))
        return 0
    figures = report(measure_requests(), measure_cpu())
    figures["distinct_labels"] = distinct_labels_figure()
    print(json.dumps(figures, indent=2))
    return 0


def report(requests: dict[str, Any], cpu: dict[str, Any]) -> dict[str, Any]:
    """The ingestion report of the measured figures, against the targets."""
    return {
        "benchmark": "usage ingestion",
        "dynamodb": requests,
        "cpu": cpu,
        "targets": TARGETS,
        "within_targets": {
            "requests_per_1000_events": requests["requests_per_1000_events"]
            <= TARGETS["requests_per_1000_events"],
            "write_units_per_event": requests["write_units_per_event"] <= TARGETS["write_units_per_event"],
            "cpu_ratio_to_json_loads": cpu["cpu_ratio_to_json_loads"] <= TARGETS["cpu_ratio_to_json_loads"],
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
