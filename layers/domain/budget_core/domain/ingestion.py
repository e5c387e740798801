"""Usage ingestion: decode, validate, price, count exactly once (BUD-003 record_usage).

Knows nothing of Kinesis or Lambda: it takes (record id, bytes) pairs in stream order and says
which were committed, which were duplicates, which were rejected (with the reason, for the
dead-letter queue) and which must be retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from budget_core.domain.accounting import Commit, OversizedEvents, PricedEvent, plan_commits, without
from budget_core.domain.errors import validation_details
from budget_core.domain.ingestion_ports import (
    DeadLetters,
    Rejection,
    TenantBudgetConfig,
    TenantConfigSource,
    TransientStoreError,
    UsageLedger,
)
from budget_core.domain.policy import Policy
from budget_core.domain.pricing.pricer import Pricer
from budget_core.domain.usage import UsageEvent

# A commit can meet already-applied events once per redelivered chunk; more rounds than this means
# something else is wrong and the records are retried by the stream instead.
MAX_COMMIT_ROUNDS = 5


@dataclass
class IngestReport:
    committed: list[PricedEvent] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    retry_record_ids: list[str] = field(default_factory=list)

    @property
    def committed_cost(self) -> Decimal:
        return sum((p.quote.cost_usd for p in self.committed if p.quote.cost_usd is not None), Decimal(0))

    @property
    def unpriced(self) -> int:
        return sum(1 for p in self.committed if p.quote.cost_usd is None)


def decode_event(record_id: str, data: bytes, now: datetime) -> UsageEvent | Rejection:
    try:
        return UsageEvent.model_validate_json(data, context={"now": now})
    except ValidationError as error:
        details = validation_details(error.errors(include_input=False))
        if any(d["type"] == "json_invalid" for d in details):
            return Rejection(
                record_id, "not a JSON object: the record data must be a UTF-8 JSON usage event", data
            )
        reasons = "; ".join(f"{d['field'] or 'event'}: {d['message']}" for d in details)
        return Rejection(record_id, f"invalid usage event: {reasons}", data)


@dataclass
class UsageIngestor:
    configs: TenantConfigSource
    ledger: UsageLedger
    pricer: Pricer
    dead_letters: DeadLetters
    now: Callable[[], datetime]

    def ingest(self, records: Sequence[tuple[str, bytes]]) -> IngestReport:
        """Counts what can be counted; rejected records go to the dead-letter queue, and only the
        records that may succeed later (or whose rejection could not be sent) are to be retried."""
        report = self._count(records)
        if report.rejected:
            unsent = self.dead_letters.send(report.rejected)
            report.retry_record_ids.extend(r.record_id for r in unsent)
        return report

    def _count(self, records: Sequence[tuple[str, bytes]]) -> IngestReport:
        report = IngestReport()
        now = self.now()
        events: list[tuple[str, UsageEvent]] = []
        seen: set[tuple[str, str]] = set()
        for record_id, data in records:
            decoded = decode_event(record_id, data, now)
            if isinstance(decoded, Rejection):
                report.rejected.append(decoded)
                continue
            identity = (decoded.tenant_id, decoded.event_id)
            if identity in seen:  # a producer retry inside one batch: the first copy counts
                report.duplicates += 1
                continue
            seen.add(identity)
            events.append((record_id, decoded))
        if not events:
            return report

        try:
            configs = {tenant: self.configs.load(tenant) for tenant in {e.tenant_id for _, e in events}}
        except TransientStoreError:
            report.retry_record_ids = [record_id for record_id, _ in events]
            return report
        priced = [
            PricedEvent(event, self.pricer.quote(event, configs[event.tenant_id].overrides), record_id)
            for record_id, event in events
        ]
        policies = _policies_by_tenant(configs)
        try:
            commits = plan_commits(priced, policies)
        except OversizedEvents as error:
            raw_by_record = dict(records)
            for event in error.events:
                report.rejected.append(
                    Rejection(
                        event.record_id,
                        "the event falls under more budgets than one transaction can count; "
                        "reduce the overlapping policies of this scope",
                        raw_by_record.get(event.record_id, b""),
                    )
                )
            dropped = {id(event) for event in error.events}
            commits = plan_commits([p for p in priced if id(p) not in dropped], policies)
        for index, commit in enumerate(commits):
            try:
                committed, duplicates = self._commit(commit, policies)
            except TransientStoreError:
                report.retry_record_ids = [p.record_id for c in commits[index:] for p in c.events]
                break
            report.committed.extend(committed)
            report.duplicates += duplicates
        return report

    def _commit(self, commit: Commit, policies: dict[str, Sequence[Policy]]) -> tuple[list[PricedEvent], int]:
        duplicates = 0
        for _ in range(MAX_COMMIT_ROUNDS):
            if not commit.events:
                return [], duplicates
            applied = self.ledger.try_commit(commit)
            if not applied:
                return commit.events, duplicates
            duplicates += len(applied)
            commit = without(commit, applied, policies)
        raise TransientStoreError("too many rounds of already-applied events")


def _policies_by_tenant(configs: dict[str, TenantBudgetConfig]) -> dict[str, Sequence[Policy]]:
    return {tenant: config.policies for tenant, config in configs.items()}
