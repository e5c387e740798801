"""UsageIngestFunction's composition root: the ingestor, built from one settings model, one pair of
AWS clients and one clock, on first use, for the life of the instance. Tests install their own."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from budget_core.adapters.checks.dynamodb_settlements import DynamoDBReservationLookup
from budget_core.adapters.policies.dynamodb_tenant_config import DynamoDBTenantConfigSource
from budget_core.adapters.usage.dynamodb_usage_ledger import DynamoDBUsageLedger
from budget_core.adapters.usage.sqs_dead_letters import SqsDeadLetters
from budget_core.domain.shared.clock import Clock, SystemClock
from budget_core.domain.tenants.cache import CachedTenantConfig
from budget_core.domain.usage.ingestion import UsageIngestor
from budget_core.domain.usage.pricing.pricer import Pricer
from budget_core.platform.composition import RootHolder
from budget_core.platform.settings import IngestSettings, settings_of

if TYPE_CHECKING:
    from budget_core.domain.checks.seeding import CounterSeeder


class IngestRoot:
    def __init__(self, settings: IngestSettings, clock: Clock, dynamodb: Any = None, sqs: Any = None) -> None:
        self.settings = settings
        self.clock = clock
        self.dynamodb = dynamodb if dynamodb is not None else boto3.client("dynamodb")
        self.sqs = sqs if sqs is not None else boto3.client("sqs")

    def cold(self) -> IngestRoot:
        """The same settings, clients and clock with nothing built yet (as a new instance)."""
        return IngestRoot(self.settings, self.clock, self.dynamodb, self.sqs)

    @cached_property
    def ingestor(self) -> UsageIngestor:
        settings = self.settings
        return UsageIngestor(
            configs=CachedTenantConfig(
                DynamoDBTenantConfigSource(self.dynamodb, settings.table_name),
                settings.tenant_config_ttl_seconds,
            ),
            ledger=DynamoDBUsageLedger(
                self.dynamodb, settings.table_name, timedelta(days=settings.usage_retention_days), self.clock
            ),
            pricer=Pricer(),
            dead_letters=SqsDeadLetters(
                self.sqs, settings.usage_dead_letter_queue_url, "UsageIngestFunction", self.clock
            ),
            clock=self.clock,
            reservations=DynamoDBReservationLookup(self.dynamodb, settings.table_name),
            earlier_periods=lambda: self.earlier_period_seeder,
        )

    @cached_property
    def earlier_period_seeder(self) -> CounterSeeder:
        """Seeds a counter a late event opened in a period before its policy: built on first use,
        so that its imports stay off the cold start."""
        from budget_core.adapters.checks.dynamodb_seeding import dynamodb_counter_seeder

        return dynamodb_counter_seeder(self.dynamodb, self.settings.table_name, self.clock)


_holder = RootHolder(lambda: IngestRoot(settings_of(IngestSettings), SystemClock()))
root = _holder.root
install = _holder.install
