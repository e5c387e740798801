"""Hot-key arithmetic, simulated with the real batching code (run: `python bench/hot_key.py`).

The busiest item of the table is the spend counter of a tenant-wide policy of the biggest tenant:
every event of that tenant moves it. For a tenant sending 1k, 10k and 100k events per second this
prints, for the contract's partition key (tenant_id: one shard per tenant, one batch at a time) and for
spread keys (the tenant's records on every shard, batches in parallel): the shards, the batches that
write the counter at once (shards x ParallelizationFactor, from template.yaml), their size
(BatchSize, batching window), how many transactions of a batch touch the counter (counted by running
the ingest function's own plan_commits on a synthetic batch), and so the writes and write units per
second on that one item, against DynamoDB's per-item ceiling of 1,000 WCU/s.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _touches_per_batch(batch_size: int) -> tuple[int, int]:
    """(transactions in a batch of one tenant's events, transactions that touch its tenant-wide
    counter), from the ingest function's own planner."""
    from workload import events, policies_for, stored_policy

    from budget_core.domain.usage.accounting import PolicyCounterKey, PricedEvent, plan_commits
    from budget_core.domain.usage.ingestion import decode_event
    from budget_core.domain.usage.pricing.pricer import Pricer

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

    from budget_core.adapters.checks.counter_items import counter_item_key, counter_snapshot
    from budget_core.adapters.shared.dynamodb_codec import to_item
    from budget_core.domain.shared.periods import period_window
    from budget_core.domain.usage.accounting import PolicyCounterKey

    now = datetime.now(UTC)
    policy = stored_policy(policies_for("tenant-acme")[0], "tenant-acme", now)
    window = period_window(policy.period, policy.timezone, now)
    key = PolicyCounterKey(policy.tenant_id, policy.policy_id, window.key)
    item = {
        **counter_item_key(key),
        **counter_snapshot(policy, key, window, now),
        "spent_usd": Decimal("123456.1234567"),
        "events": 12_345_678,
        "unpriced_events": 1234,
        "rev": 12_345_678,
    }
    return write_units(item_size(to_item(item)), transactional=True)


def _single_tenant_row(
    rate: int, mapping: dict[str, Any], wcu_per_update: int, spread: bool
) -> dict[str, Any]:
    """The busiest counter: a tenant-wide policy of a tenant sending ``rate`` events/s. With the
    contract's partition key (tenant_id) all of them land on one shard, whose records one batch at a
    time carries in order; with spread keys they use every shard the rate needs, in parallel."""
    shards = max(mapping["template_shards"], math.ceil(rate / KINESIS_RECORDS_PER_SHARD_SECOND))
    tenant_rate = rate if spread else min(rate, KINESIS_RECORDS_PER_SHARD_SECOND)
    concurrent = shards * mapping["parallelization_factor"] if spread else 1
    per_batcher = tenant_rate / concurrent
    batch = int(min(mapping["batch_size"], max(1, per_batcher * mapping["window_seconds"])))
    batches_per_second = tenant_rate / batch
    transactions, touching = _touches_per_batch(batch)
    updates = batches_per_second * touching
    wcu = updates * wcu_per_update
    return {
        "tenant_events_per_second": rate,
        "partition_key": "spread (tenant#n)" if spread else "tenant_id (DESIGN)",
        "accepted_events_per_second": tenant_rate,
        "stream_shards": shards,
        "concurrent_batches_on_the_counter": concurrent,
        "events_per_batch": batch,
        "transactions_per_batch": transactions,
        "transactions_touching_hot_counter": touching,
        "hot_counter_writes_per_second": round(updates, 1),
        "hot_counter_wcu_per_second": round(wcu, 1),
        "share_of_item_ceiling": round(wcu / ITEM_WCU_PER_SECOND, 3),
        "write_shards_needed_at_50pct_headroom": max(1, math.ceil(wcu / (ITEM_WCU_PER_SECOND * HEADROOM))),
    }


def simulate() -> dict[str, Any]:
    from workload import ingest_mapping

    mapping = ingest_mapping()
    wcu_per_update = _counter_update_wcu()
    _, touching_full = _touches_per_batch(mapping["batch_size"])
    events_per_transaction = mapping["batch_size"] / touching_full
    ceiling_events = ITEM_WCU_PER_SECOND / wcu_per_update * events_per_transaction
    return {
        "simulation": "the hot counter: a tenant-wide policy of the busiest tenant",
        "template": mapping,
        "wcu_per_counter_update": wcu_per_update,
        "item_wcu_ceiling_per_second": ITEM_WCU_PER_SECOND,
        "events_per_counter_write_in_full_batches": round(events_per_transaction, 1),
        "one_tenant_events_per_second_at_item_ceiling": round(ceiling_events),
        "one_tenant_events_per_second_at_half_the_ceiling": round(ceiling_events * HEADROOM),
        "tenant_partition_key": [_single_tenant_row(r, mapping, wcu_per_update, spread=False) for r in RATES],
        "spread_partition_key": [_single_tenant_row(r, mapping, wcu_per_update, spread=True) for r in RATES],
    }


def main() -> int:
    print(json.dumps(simulate(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
