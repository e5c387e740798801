"""AWS list-price cost per million tracked events, printed as JSON with every input (run: `make bench`).

Counted, not guessed: DynamoDB write and read units come from the requests the real ingest handler
makes for the realistic batch (bench/ingest_bench.py: counted at the botocore level, items sized as
DynamoDB bills them); Lambda GB-seconds from the measured CPU per event at the template's memory
size; Kinesis PUT payload units from the event size and shard hours at a stated rate; SNS and
EventBridge per alert at a stated alert rate. Prices: AWS list prices, us-east-1, on demand.

Target (README, "Figures"): at most $2.00 per million events. The exactly-once event records alone are 2 WRU
each (a transactional put of an item under 1 KB), $1.25 per million.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools")]

PRICES_USD = {
    "dynamodb_per_million_write_request_units": 0.625,
    "dynamodb_per_million_read_request_units": 0.125,
    "lambda_per_gb_second_x86": 0.0000166667,
    "lambda_per_million_requests": 0.20,
    "kinesis_per_shard_hour": 0.015,
    "kinesis_extended_retention_per_shard_hour": 0.020,  # the template keeps 168 h
    "dynamodb_storage_per_gb_month": 0.25,
    "dynamodb_pitr_per_gb_month": 0.20,
    "kinesis_per_million_put_payload_units": 0.014,
    "sns_per_million_publishes": 0.50,
    "eventbridge_per_million_events": 1.00,
}
ASSUMPTIONS = {
    "events_per_second": 1000,  # sustained rate the shard hours are spread over
    "alerts_per_million_events": 200,  # threshold + forecast messages (each also a bus event)
    "dynamodb_round_trip_ms": 8,  # for the wall-clock Lambda estimate only
    "write_units_per_crossing": 5,  # claim transaction (ConditionCheck + put) and the delivery record
    "item_overhead_bytes": 100,  # DynamoDB's per-item storage overhead
    "retention_days": 90,  # UsageRetentionDays: event records stay this long (TTL)
}
TARGET_USD_PER_MILLION = 2.00
MILLION = 1_000_000


def cost(measured: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """Dollars per million events from the measured figures (pure arithmetic, every input shown)."""
    p, a = PRICES_USD, ASSUMPTIONS
    requests = measured["requests"]
    per_event_requests = requests["requests_per_1000_events"] / 1000
    reads = requests["detail"]["requests_by_operation"].get("Query", 0) / requests["events"]
    write_units = (
        requests["write_units_per_event"] * MILLION
        + a["alerts_per_million_events"] * a["write_units_per_crossing"]
    )
    read_units = reads * MILLION  # one small, strongly consistent query page per tenant per batch
    memory_gb = template["memory_mb"] / 1024
    cpu_seconds = measured["cpu"]["pipeline_us_per_event"] / 1e6 * MILLION
    wall_seconds = cpu_seconds + per_event_requests * MILLION * a["dynamodb_round_trip_ms"] / 1000
    # ingest batches, and about as many alert batches (the counter changes they cause)
    invocations = MILLION / template["batch_size"] * 2
    hours = MILLION / a["events_per_second"] / 3600
    lines = {
        "dynamodb_writes": write_units / MILLION * p["dynamodb_per_million_write_request_units"],
        "dynamodb_reads": read_units / MILLION * p["dynamodb_per_million_read_request_units"],
        "lambda_compute_cpu": cpu_seconds * memory_gb * p["lambda_per_gb_second_x86"],
        "lambda_requests": invocations / MILLION * p["lambda_per_million_requests"],
        # one 25 KB payload unit per event (an event is well under 1 KB)
        "kinesis_put_payload_units": p["kinesis_per_million_put_payload_units"],
        "kinesis_shard_hours": hours
        * template["template_shards"]
        * (p["kinesis_per_shard_hour"] + p["kinesis_extended_retention_per_shard_hour"]),
        "sns_alerts": a["alerts_per_million_events"] / MILLION * p["sns_per_million_publishes"],
        "eventbridge_budget_events": a["alerts_per_million_events"]
        / MILLION
        * p["eventbridge_per_million_events"],
    }
    total = sum(lines.values())
    wall_clock_lambda = wall_seconds * memory_gb * p["lambda_per_gb_second_x86"]
    # Storage is paid per month while the records live, not per event; shown apart, over the retention.
    item_bytes = requests["detail"].get("average_put_item_bytes", 0) + a["item_overhead_bytes"]
    gigabyte_months = item_bytes * MILLION / 1e9 * a["retention_days"] / 30.4
    storage = gigabyte_months * (p["dynamodb_storage_per_gb_month"] + p["dynamodb_pitr_per_gb_month"])
    return {
        "usd_per_million_events": round(total, 4),
        "lines_usd": {k: round(v, 5) for k, v in lines.items()},
        "share_of_dynamodb_writes": round(lines["dynamodb_writes"] / total, 3),
        "inputs": {
            "write_request_units_per_event": requests["write_units_per_event"],
            "dynamodb_requests_per_1000_events": requests["requests_per_1000_events"],
            "read_requests_per_event": round(reads, 5),
            "cpu_us_per_event": measured["cpu"]["pipeline_us_per_event"],
            **template,
            **ASSUMPTIONS,
        },
        "lambda_if_billed_on_wall_clock_usd": round(wall_clock_lambda, 5),
        "storage_over_retention_usd": round(storage, 4),
        "with_storage_usd_per_million_events": round(total + storage, 4),
        "exactly_once_event_records_usd": round(2 * p["dynamodb_per_million_write_request_units"], 3),
    } | _naive(requests)


def _naive(requests: dict[str, Any]) -> dict[str, Any]:
    naive = requests.get("naive_one_transaction_per_event")
    if naive is None:
        return {}
    dollars = naive["write_units_per_event"] * PRICES_USD["dynamodb_per_million_write_request_units"]
    return {"naive_design_usd_per_million_events": round(dollars, 3)}


def main() -> int:
    import ingest_bench
    from workload import ingest_mapping

    quick = "--quick" in sys.argv  # CI: without the (slow) naive design for comparison
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers print their metrics
        measured = {
            "requests": ingest_bench.measure_requests(with_naive=not quick),
            "cpu": ingest_bench.measure_cpu(),
        }
    report = {
        "benchmark": "cost per million tracked events (AWS list prices, us-east-1, on demand)",
        **cost(measured, ingest_mapping()),
        "prices_usd": PRICES_USD,
        "target_usd_per_million_events": TARGET_USD_PER_MILLION,
    }
    report["within_target"] = report["usd_per_million_events"] <= TARGET_USD_PER_MILLION
    # The same measurement is the ingestion benchmark: `make bench` prints it here, once.
    report["ingest_benchmark"] = ingest_bench.report(measured["requests"], measured["cpu"])
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
