"""What the route groups share: the AWS clients and the cached tenant configuration.

Each is built on first use and kept for the life of the instance (one per Lambda container).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3

from budget_core.platform.settings import ApiSettings, settings_of

if TYPE_CHECKING:
    from budget_core.domain.checks.seeding import CounterSeeder
    from budget_core.domain.policies.tenant_config_cache import CachedTenantConfig


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.client("dynamodb")


@lru_cache(maxsize=1)
def kinesis() -> Any:
    return boto3.client("kinesis")


@lru_cache(maxsize=1)
def events() -> Any:
    return boto3.client("events")


@lru_cache(maxsize=1)
def tenant_configs() -> CachedTenantConfig:
    """Policies per tenant, read by the checks and invalidated by every policy change.

    Imported here, not at the top: only the policy and check routes use it, and the policy model it
    brings costs a usage or alert request's cold start ~30 ms for nothing.
    """
    from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
    from budget_core.domain.policies.tenant_config_cache import CachedTenantConfig

    settings = settings_of(ApiSettings)
    source = DynamoDBTenantConfigSource(dynamodb(), settings.table_name)
    return CachedTenantConfig(source, settings.tenant_config_ttl_seconds)


@lru_cache(maxsize=1)
def counter_seeder() -> CounterSeeder:
    """Adds the spend recorded before a policy (or its new scope) to its counter: used by the policy
    writes and, for a counter whose seeding was interrupted, by checks and status reads."""
    from budget_core.adapters.checks.dynamodb_budget_store import DynamoDBCounterReader, DynamoDBSeedStore
    from budget_core.adapters.usage.dynamodb_rollup_reader import DynamoDBRollupReader
    from budget_core.domain.checks.seeding import CounterSeeder
    from budget_core.domain.shared.clock import SystemClock

    table = settings_of(ApiSettings).table_name
    return CounterSeeder(
        rollups=DynamoDBRollupReader(dynamodb(), table, consistent=True),
        counters=DynamoDBCounterReader(dynamodb(), table),
        store=DynamoDBSeedStore(dynamodb(), table),
        now=SystemClock().now,
    )
