"""Hot-key arithmetic, simulated with the real batching code (run: `python bench/hot_key.py`).

The busiest item of the table is the spend counter of a tenant-wide policy of the biggest tenant:
every event of that tenant moves it. For 1k, 10k and 100k events per second of ONE tenant (the
worst case), this prints how many Kinesis shards the stream needs, how many batches the event source
mapping runs at once (shards x ParallelizationFactor, from template.yaml), how big they get (BatchSize,
batching window), how many transactions of a batch touch the hot counter (counted by running the
ingest function's own plan_commits on a synthetic batch), and so the writes per second and write
units per second on that one item, against DynamoDB's per-item ceiling of 1,000 WCU/s.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "bench")]

RATES = (1_000, 10_000, 100_000)
KINESIS_RECORDS_PER_SHARD_SECOND = 1_000
ITEM_WCU_PER_SECOND = 1_000  # DynamoDB's ceiling for one partition (and so for one item)
HEADROOM = 0.5  # plan to use at most half of it: retries and transaction conflicts need the rest


def _mapping() -> dict[str, Any]:
    from budget_service.local.functions import function_specs
    from budget_service.provision import parameter_values
    from budget_service.template import load_template

    template = load_template()
    usage = function_specs(template)["UsageIngestFunction"].events["Usage"]["Properties"]
    return {
        "template_shards": int(parameter_values(template)["UsageShardCount"]),
        "batch_size": int(usage["BatchSize"]),
        "window_seconds": float(usage["MaximumBatchingWindowInSeconds"]),
        "parallelization_factor": int(usage["ParallelizationFactor"]),
    }


def _touches_per_batch(batch_size: int) -> tuple[int, int]:
    """(transactions in a batch of one tenant's events, transactions that touch its tenant-wide
    counter), from the ingest function's own planner."""
    from workload import events, policies_for, stored_policy

    from budget_core.domain.accounting import PolicyCounterKey, PricedEvent, plan_commits
    from budget_core.domain.ingestion import decode_event
    from budget_core.domain.pricing.pricer import Pricer

    now = datetime.now(UTC)
    tenant = "tenant-acme"
    policies = [stored_policy(body, tenant, now) for body in policies_for(tenant)]
    pricer = Pricer()
    priced = []
    for index, raw in enumerate(events(batch_size, seed=3, now=now)):
        record = json.loads(raw)
        record["tenant_id"] = tenant  # one tenant: the worst case for its tenant-wide counter
        record["timestamp"] = (now - timedelta(seconds=1)).isoformat()
        event = decode_event(str(index), json.dumps(record).encode(), now)
        priced.append(PricedEvent(event, pricer.quote(event, {}), str(index)))  # type: ignore[arg-type]
    commits = plan_commits(priced, {tenant: policies})
    hot = policies[0].policy_id  # the tenant-wide policy
    touching = sum(
        1 for c in commits if any(isinstance(k, PolicyCounterKey) and k.policy_id == hot for k in c.deltas)
    )
    return len(commits), touching


def _counter_update_wcu() -> int:
    """Write units of one transactional update of a counter item as it stands (snapshot, spend)."""
    from dynamodb_item_size import item_size, write_units
    from workload import policies_for, stored_policy

    from budget_core.adapters.counter_items import counter_snapshot
    from budget_core.adapters.dynamodb_codec import to_item
    from budget_core.adapters.keys import policy_counter_key
    from budget_core.domain.accounting import PolicyCounterKey
    from budget_core.domain.periods import period_window

    now = datetime.now(UTC)
    policy = stored_policy(policies_for("tenant-acme")[0], "tenant-acme", now)
    window = period_window(policy.period, policy.timezone, now)
    key = PolicyCounterKey(policy.tenant_id, policy.policy_id, window.key)
    item = {
        **policy_counter_key(key.tenant_id, key.policy_id, key.period_key),
        **counter_snapshot(policy, key, window, now),
        "spent_usd": Decimal("123456.1234567"),
        "events": 12_345_678,
        "unpriced_events": 1234,
        "rev": 12_345_678,
    }
    return write_units(item_size(to_item(item)), transactional=True)


def simulate() -> dict[str, Any]:
    mapping = _mapping()
    wcu_per_update = _counter_update_wcu()
    rows = []
    for rate in RATES:
        shards = max(mapping["template_shards"], math.ceil(rate / KINESIS_RECORDS_PER_SHARD_SECOND))
        concurrent = shards * mapping["parallelization_factor"]
        per_batcher = rate / concurrent
        batch = int(min(mapping["batch_size"], max(1, per_batcher * mapping["window_seconds"])))
        batches_per_second = rate / batch
        transactions, touching = _touches_per_batch(batch)
        updates = batches_per_second * touching
        wcu = updates * wcu_per_update
        rows.append(
            {
                "events_per_second": rate,
                "kinesis_shards_needed": shards,
                "concurrent_batches": concurrent,
                "events_per_batch": batch,
                "batches_per_second": round(batches_per_second, 1),
                "transactions_per_batch": transactions,
                "transactions_touching_hot_counter": touching,
                "hot_counter_writes_per_second": round(updates, 1),
                "hot_counter_wcu_per_second": round(wcu, 1),
                "share_of_item_ceiling": round(wcu / ITEM_WCU_PER_SECOND, 3),
                "write_shards_needed_at_50pct_headroom": max(
                    1, math.ceil(wcu / (ITEM_WCU_PER_SECOND * HEADROOM))
                ),
            }
        )
    return {
        "simulation": "hot counter of one tenant-wide policy, all traffic from one tenant",
        "template": mapping,
        "wcu_per_counter_update": wcu_per_update,
        "item_wcu_ceiling_per_second": ITEM_WCU_PER_SECOND,
        "rates": rows,
    }


def main() -> int:
    print(json.dumps(simulate(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
