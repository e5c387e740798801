"""The counter seeder on the BudgetTable: rollups read strongly consistent, counters and seeds on the
counter items. One builder for every function that seeds (the API, and ingestion for late events)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from budget_core.adapters.checks.dynamodb_budget_store import DynamoDBCounterReader, DynamoDBSeedStore
from budget_core.adapters.usage.dynamodb_rollup_reader import DynamoDBRollupReader
from budget_core.domain.checks.seeding import CounterSeeder
from budget_core.domain.shared.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def dynamodb_counter_seeder(dynamodb: DynamoDBClient, table: str, clock: Clock) -> CounterSeeder:
    return CounterSeeder(
        rollups=DynamoDBRollupReader(dynamodb, table, consistent=True),
        counters=DynamoDBCounterReader(dynamodb, table),
        store=DynamoDBSeedStore(dynamodb, table),
        clock=clock,
    )
