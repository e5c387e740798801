"""Pre-flight check benchmarks, printed as JSON (run: `make bench`).

- DynamoDB round trips of a cold check (first of a function instance) and of a warm one, counted
  at the botocore level on the real PolicyApiFunction handler.
- Warm check latency through the real handler against moto in server mode (HTTP on loopback), as a
  ratio to one GetItem of a counter item measured in the same run (target: at most 1.5x).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions" / "policy_api"), str(ROOT / "bench")]
REGION = "eu-west-1"
SAMPLES = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from budget_service.emulator.moto_isolation import serialize_dynamodb_operations

    serialize_dynamodb_operations()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "TABLE_NAME": "bench-checks",
            "EVENT_BUS_NAME": "bench-events",
            "USAGE_STREAM_NAME": "bench-usage",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    try:
        # the handler's metric lines go to stderr: stdout carries the report alone
        with contextlib.redirect_stdout(sys.stderr):
            report = _run(endpoint)
        print(json.dumps(report, indent=2))
        return 0
    finally:
        server.stop()


def _run(endpoint: str) -> dict[str, Any]:
    import boto3

    import api_bootstrap
    import policy_api_app
    from budget_service.emulator.lambda_context import LocalLambdaContext
    from budget_service.emulator.sample_events import api_event
    from budget_service.templates.provision import ProvisionedNames, provision

    provision(ProvisionedNames("bench-checks", "bench-events"), REGION, endpoint)
    for body in (
        {"name": "all", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "1000"},
        {"name": "team", "scope": {"type": "team", "id": "research"}, "period": "month", "limit_usd": "500"},
        {"name": "alice", "scope": {"type": "user", "id": "alice"}, "period": "day", "limit_usd": "50"},
    ):
        assert (
            policy_api_app.handler(api_event("create_policy", body=body), LocalLambdaContext())["statusCode"]
            == 201
        )
    check = api_event("check_budget")
    requests: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        requests[model.name] += 1

    # a fresh instance: nothing cached
    api_bootstrap.install(None)
    api_bootstrap.root().dynamodb.meta.events.register("before-call.dynamodb", count)
    answer = policy_api_app.handler(check, LocalLambdaContext())
    assert answer["statusCode"] == 200, answer
    cold = dict(requests)
    requests.clear()
    policy_api_app.handler(check, LocalLambdaContext())
    warm = dict(requests)

    raw = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    policy = json.loads(answer["body"])["policies"][0]
    key = {"pk": {"S": f"T#tenant-acme#P#{policy['policy_id']}"}, "sk": {"S": f"C#{policy['period_key']}"}}

    def timed(work: Any) -> float:
        samples = []
        for _ in range(SAMPLES):
            start = time.perf_counter()
            work()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    timings = {}
    for _ in range(2):  # interleave, keep the better median of each
        timings["get_item"] = min(
            timings.get("get_item", 1e9),
            timed(lambda: raw.get_item(TableName="bench-checks", Key=key, ConsistentRead=True)),
        )
        timings["warm_check"] = min(
            timings.get("warm_check", 1e9), timed(lambda: policy_api_app.handler(check, LocalLambdaContext()))
        )
    report = {
        "benchmark": "pre-flight check",
        "policies_evaluated": len(json.loads(answer["body"])["policies"]),
        "dynamodb_round_trips": {
            "cold_check": sum(cold.values()),
            "cold_detail": cold,
            "warm_check": sum(warm.values()),
            "warm_detail": warm,
        },
        "latency_ms": {
            "get_item_median": round(timings["get_item"] * 1000, 3),
            "warm_check_median": round(timings["warm_check"] * 1000, 3),
        },
        "warm_check_ratio_to_get_item": round(timings["warm_check"] / timings["get_item"], 2),
        "targets": {"warm_round_trips": 1, "cold_round_trips": 2, "warm_check_ratio_to_get_item": 1.5},
    }
    report["within_targets"] = {
        "warm_round_trips": report["dynamodb_round_trips"]["warm_check"] <= 1,
        "cold_round_trips": report["dynamodb_round_trips"]["cold_check"] <= 2,
        "warm_check_ratio_to_get_item": report["warm_check_ratio_to_get_item"] <= 1.5,
    }
    return report


if __name__ == "__main__":
    raise SystemExit(main())
