"""PolicyApiFunction's composition root: every service a route uses, built from one settings model,
one set of AWS clients and one clock.

Services are built on first use and kept for the life of the instance (one per Lambda container);
each imports its adapters when it is built, so a cold request loads only its route group's. Tests
install a root of their own (a fixed clock, a client that fails on cue) instead of patching modules.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from budget_core.domain.shared.clock import Clock, SystemClock
from budget_core.platform.composition import RootHolder
from budget_core.platform.settings import ApiSettings, settings_of

if TYPE_CHECKING:
    from budget_core.domain.alerts.history import AlertHistory
    from budget_core.domain.checks.seeding import CounterSeeder
    from budget_core.domain.checks.service import BudgetGuard
    from budget_core.domain.checks.settlement import ReservationSettler
    from budget_core.domain.checks.status import BudgetStatus
    from budget_core.domain.policies.service import PolicyService
    from budget_core.domain.tenants.cache import CachedTenantConfig
    from budget_core.domain.tenants.prices import PriceOverrideService
    from budget_core.domain.usage.ingestion import UsageIngestor
    from budget_core.domain.usage.pricing.pricer import Pricer
    from budget_core.domain.usage.queries import UsageQueries
    from budget_core.domain.usage.submission import UsageSubmission


class ApiRoot:
    def __init__(
        self,
        settings: ApiSettings,
        clock: Clock,
        dynamodb: Any = None,
        kinesis: Any = None,
        events: Any = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._clients = {"dynamodb": dynamodb, "kinesis": kinesis, "events": events}

    def _client(self, name: str) -> Any:
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = boto3.client(name)  # type: ignore[call-overload]
        return client

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def tenant_configs(self) -> CachedTenantConfig:
        """Policies per tenant, read by the checks and invalidated by every policy change."""
        from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
        from budget_core.domain.tenants.cache import CachedTenantConfig

        source = DynamoDBTenantConfigSource(self.dynamodb, self.settings.table_name)
        return CachedTenantConfig(source, self.settings.tenant_config_ttl_seconds)

    @cached_property
    def counter_seeder(self) -> CounterSeeder:
        """Adds the spend recorded before a policy (or its new scope) to its counter: used by the
        policy writes and, for a counter whose seeding was interrupted, by checks and status reads."""
        from budget_core.adapters.checks.dynamodb_seeding import dynamodb_counter_seeder

        return dynamodb_counter_seeder(self.dynamodb, self.settings.table_name, self.clock)

    @cached_property
    def policy_service(self) -> PolicyService:
        from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
        from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
        from budget_core.adapters.policies.eventbridge_publisher import EventBridgePublisher
        from budget_core.domain.policies.service import PolicyService

        table = self.settings.table_name
        return PolicyService(
            repository=DynamoDBPolicyRepository(self.dynamodb, table),
            publisher=EventBridgePublisher(self._client("events"), self.settings.event_bus_name),
            clock=self.clock,
            seeder=self.counter_seeder,
            configs=DynamoDBTenantConfigSource(self.dynamodb, table),
        )

    @cached_property
    def price_overrides(self) -> PriceOverrideService:
        from budget_core.adapters.policies.dynamodb_price_overrides import DynamoDBPriceOverrides
        from budget_core.domain.tenants.prices import PriceOverrideService

        return PriceOverrideService(
            DynamoDBPriceOverrides(self.dynamodb, self.settings.table_name),
            model_identity=self.pricer.model_identity,
            configs=self.tenant_configs,
        )

    @cached_property
    def pricer(self) -> Pricer:
        """One pricer (its caches of models and prices) for checks and the price routes."""
        from budget_core.domain.usage.pricing.pricer import Pricer

        return Pricer()

    @cached_property
    def budget_status(self) -> BudgetStatus:
        from budget_core.adapters.checks.dynamodb_budget_store import DynamoDBCounterReader
        from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository
        from budget_core.domain.checks.status import BudgetStatus

        table = self.settings.table_name
        return BudgetStatus(
            DynamoDBPolicyRepository(self.dynamodb, table),
            DynamoDBCounterReader(self.dynamodb, table),
            self.clock,
            seeder=self.counter_seeder,
        )

    @cached_property
    def budget_guard(self) -> BudgetGuard:
        from budget_core.adapters.checks.dynamodb_budget_store import (
            DynamoDBCounterReader,
            DynamoDBReservationStore,
        )
        from budget_core.domain.checks.service import BudgetGuard

        table = self.settings.table_name
        return BudgetGuard(
            configs=self.tenant_configs,
            counters=DynamoDBCounterReader(self.dynamodb, table),
            store=DynamoDBReservationStore(self.dynamodb, table),
            pricer=self.pricer,
            clock=self.clock,
            seeder=self.counter_seeder,
        )

    @cached_property
    def reservation_settler(self) -> ReservationSettler:
        from budget_core.adapters.checks.dynamodb_budget_store import DynamoDBReservationStore
        from budget_core.adapters.usage.dynamodb_usage_records import DynamoDBUsageRecords
        from budget_core.domain.checks.settlement import ReservationSettler

        table = self.settings.table_name
        return ReservationSettler(
            reservations=DynamoDBReservationStore(self.dynamodb, table),
            usage_records=DynamoDBUsageRecords(self.dynamodb, table),
            ingestor=lambda: self.usage_counter,
            clock=self.clock,
        )

    @cached_property
    def usage_counter(self) -> UsageIngestor:
        """The ingestion path's own counting, for a usage event that settles a reservation."""
        from datetime import timedelta

        from budget_core.adapters.checks.dynamodb_settlements import DynamoDBReservationLookup
        from budget_core.adapters.usage.dynamodb_usage_ledger import DynamoDBUsageLedger
        from budget_core.domain.usage.ingestion import UsageIngestor

        table = self.settings.table_name
        retention = timedelta(days=self.settings.usage_retention_days)
        return UsageIngestor(
            configs=self.tenant_configs,
            ledger=DynamoDBUsageLedger(self.dynamodb, table, retention, self.clock),
            pricer=self.pricer,
            dead_letters=None,
            clock=self.clock,
            reservations=DynamoDBReservationLookup(self.dynamodb, table),
            earlier_periods=lambda: self.counter_seeder,
        )

    @cached_property
    def usage_queries(self) -> UsageQueries:
        from budget_core.adapters.usage.dynamodb_rollup_reader import DynamoDBRollupReader
        from budget_core.domain.usage.queries import UsageQueries

        return UsageQueries(DynamoDBRollupReader(self.dynamodb, self.settings.table_name))

    @cached_property
    def usage_submission(self) -> UsageSubmission:
        from budget_core.adapters.usage.kinesis_usage_forwarder import KinesisUsageForwarder
        from budget_core.domain.usage.submission import UsageSubmission

        forwarder = KinesisUsageForwarder(self._client("kinesis"), self.settings.usage_stream_name)
        return UsageSubmission(forwarder, self.clock)

    @cached_property
    def alert_history(self) -> AlertHistory:
        from budget_core.adapters.alerts.dynamodb_alert_history import DynamoDBAlertHistory
        from budget_core.domain.alerts.history import AlertHistory

        return AlertHistory(DynamoDBAlertHistory(self.dynamodb, self.settings.table_name))


_holder = RootHolder(lambda: ApiRoot(settings_of(ApiSettings), SystemClock()))
root = _holder.root
install = _holder.install
