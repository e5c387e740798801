"""Live holds on one policy, printed as JSON (run: `make bench`).

10,000 reservations (``HOLDS_ON_ONE_POLICY``) are placed on one policy's counter over an hour, each
with the reservation store's own conditional transaction, against moto in this process. Then the
counter item is read back: holds are summed per expiry minute, so its size and the number of sums
stay bounded whatever the number of live holds. A counter read (what every check does) is timed
with the holds and against a counter with one, in the same run.

Targets (README, "Pre-flight checks and reservations"): at most 62 sums and 8 KB per counter item.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
REGION = "eu-west-1"
TABLE = "bench-holds"
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)

import boto3  # noqa: E402

TARGETS = {"hold_sums_on_the_counter": 62, "counter_item_bytes": 8_000}
READS = 50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=int(os.environ.get("HOLDS_ON_ONE_POLICY", "10000")))
    print(json.dumps(measure(parser.parse_args().holds), indent=2))
    return 0


def _median_read_ms(read: Any) -> float:
    samples = []
    for _ in range(READS):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(holds: int) -> dict[str, Any]:
    from moto import mock_aws
    from workload import stored_policy

    from bench.dynamodb_item_size import item_size
    from budget_core.adapters.checks.counter_items import counter_item_key
    from budget_core.adapters.checks.dynamodb_budget_store import (
        DynamoDBCounterReader,
        DynamoDBReservationStore,
    )
    from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
    from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
    from budget_core.adapters.shared.dynamodb_codec import to_item
    from budget_core.domain.checks.models import Reservation
    from budget_core.domain.checks.spend import CounterState, counter_key, hold_expiry
    from budget_core.domain.shared.money import format_money
    from budget_service.emulator.moto_isolation import serialize_dynamodb_operations
    from budget_service.templates.provision import ProvisionedNames, provision

    serialize_dynamodb_operations()
    with mock_aws():
        provision(ProvisionedNames(TABLE, "bench-holds-events"), REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        start = datetime(2026, 11, 20, 9, 0, 0, 400_000, tzinfo=UTC)
        repository = DynamoDBPolicyRepository(dynamodb, TABLE)
        for name in ("held", "single"):
            body = {
                "name": name,
                "scope": {"type": "team", "id": name},
                "period": "total",
                "limit_usd": "100000",
            }
            repository.create(stored_policy(body, "bench", start))
        config = DynamoDBTenantConfigSource(dynamodb, TABLE).load("bench")
        held, single = sorted(config.policies, key=lambda p: p.name != "held")
        store = DynamoDBReservationStore(dynamodb, TABLE)
        reader = DynamoDBCounterReader(dynamodb, TABLE)
        key, _ = counter_key(held, start)
        single_key, _ = counter_key(single, start)

        def place(policy: Any, counter: Any, index: int, now: datetime, rev: int | None) -> None:
            reservation = Reservation(
                f"res_{index:028x}",
                "bench",
                Decimal("0.01"),
                now,
                hold_expiry(now + timedelta(hours=1)),
                [counter],
                "h",
            )
            store.place(reservation, [(policy, counter, CounterState(rev=rev))], now, config.version)

        place(single, single_key, holds, start, reader.read([single_key])[single_key].rev)
        rev = reader.read([key])[key].rev
        placing = time.perf_counter()
        for index in range(holds):
            place(held, key, index, start + timedelta(seconds=index * 3600 / holds), rev)
            rev = 1 if rev is None else rev + 1
        placing_ms = (time.perf_counter() - placing) * 1000 / max(holds, 1)
        item = dynamodb.get_item(TableName=TABLE, Key=to_item(counter_item_key(key)))["Item"]
        with_holds = _median_read_ms(lambda: reader.read([key]))
        one = _median_read_ms(lambda: reader.read([single_key]))
        reserved = reader.read([key])[key].reserved_at(start + timedelta(hours=1))

    report: dict[str, Any] = {
        "benchmark": "live holds on one policy",
        "live_holds": holds,
        "reserved_usd": format_money(reserved),
        "hold_sums_on_the_counter": sum(1 for name in item if name.startswith("rsv#")),
        "counter_item_bytes": item_size(item),
        "counter_read_vs_one_hold": round(with_holds / one, 2),
        "moto_ms_per_hold_placed": round(placing_ms, 1),
        "targets": TARGETS,
    }
    report["within_targets"] = {name: report[name] <= target for name, target in TARGETS.items()}
    return report


if __name__ == "__main__":
    raise SystemExit(main())
