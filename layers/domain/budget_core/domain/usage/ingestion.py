"""Usage ingestion: decode, validate, price, count exactly once (BUD-003 record_usage).

Knows nothing of Kinesis or Lambda: it takes (record id, bytes) pairs in stream order and says
which were committed, which were duplicates, which were rejected (with the reason, for the
dead-letter queue) and which must be retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from budget_core.domain.policies.policy import Policy
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import StoreUnavailable, validation_details
from budget_core.domain.shared.periods import period_key, period_window
from budget_core.domain.tenants.config import StaleConfiguration, TenantBudgetConfig, TenantConfigSource
from budget_core.domain.usage.accounting import (
    Commit,
    OversizedEvents,
    PolicyCounterKey,
    PricedEvent,
    Settlement,
    plan_commits,
    without,
)
from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.ports import (
    DeadLetters,
    EarlierPeriodSeeder,
    InactiveReservations,
    Rejection,
    ReservationLookup,
    UncommittableCommit,
    UsageLedger,
)
from budget_core.domain.usage.pricing.pricer import Pricer

# A commit can meet already-applied events once per redelivered chunk; more rounds than this means
# something else is wrong and the records are retried by the stream instead.
MAX_COMMIT_ROUNDS = 5
# Policies edited faster than a batch commits: after this many re-reads the records are retried.
MAX_CONFIG_ROUNDS = 5
# A record with thousands of wrong fields gets a reason naming the first few, not all of them.
MAX_LISTED_ERRORS = 10


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
        listed = details[:MAX_LISTED_ERRORS]
        reasons = "; ".join(f"{str(d['field'] or 'event')[:100]}: {str(d['message'])[:200]}" for d in listed)
        if len(details) > len(listed):
            reasons += f"; and {len(details) - len(listed)} more"
        return Rejection(record_id, f"invalid usage event: {reasons}", data)


@dataclass
class UsageIngestor:
    configs: TenantConfigSource
    ledger: UsageLedger
    pricer: Pricer
    dead_letters: DeadLetters | None  # None: nothing is dead-lettered (a settle answers 422 instead)
    clock: Clock
    reservations: ReservationLookup | None = None
    # builds the seeder on first use: late events into an earlier period are rare, and the
    # seeder's reads stay off the cold start
    earlier_periods: Callable[[], EarlierPeriodSeeder] | None = None
    _opened: set[PolicyCounterKey] = field(default_factory=set)

    def ingest(
        self,
        records: Sequence[tuple[str, bytes]],
        arrivals: Mapping[str, datetime] | None = None,
        unreadable: Sequence[Rejection] = (),
    ) -> IngestReport:
        """Counts what can be counted; rejected records go to the dead-letter queue, and only the
        records that may succeed later (or whose rejection could not be sent) are to be retried.
        ``arrivals``: when each record reached the stream, which the event window is judged by (so
        a lagging stream does not age events out); records not in it are judged by the clock.
        ``unreadable``: records the transport could not even decode, rejected with the others."""
        report = self._count(records, arrivals or {})
        report.rejected.extend(unreadable)
        if report.rejected:
            if self.dead_letters is None:
                raise RuntimeError("records were rejected and there is no dead-letter queue for them")
            unsent = self.dead_letters.send(report.rejected)
            report.retry_record_ids.extend(r.record_id for r in unsent)
        return report

    def _count(self, records: Sequence[tuple[str, bytes]], arrivals: Mapping[str, datetime]) -> IngestReport:
        report = IngestReport()
        now = self.clock.now()
        events: list[tuple[str, UsageEvent]] = []
        seen: set[tuple[str, str]] = set()
        for record_id, data in records:
            decoded = decode_event(record_id, data, arrivals.get(record_id, now))
            if isinstance(decoded, Rejection):
                report.rejected.append(decoded)
                continue
            identity = (decoded.tenant_id, decoded.event_id)
            if identity in seen:  # a producer retry inside one batch: the first copy counts
                report.duplicates += 1
                continue
            seen.add(identity)
            events.append((record_id, decoded))
        if events:
            self.count_valid(events, dict(records), report)
        return report

    def count_valid(
        self,
        events: list[tuple[str, UsageEvent]],
        raw_by_record: dict[str, bytes],
        report: IngestReport,
    ) -> None:
        """Counts events already validated (distinct, each with its record id) into ``report``:
        the stream's records, or one usage event settling a reservation over HTTP. Those the store
        refuses for what they are are in ``report.rejected``; those to try again later in
        ``report.retry_record_ids``."""
        for _ in range(MAX_CONFIG_ROUNDS):
            left, stale = self._count_under_current_config(events, raw_by_record, report)
            if not stale:
                return
            # a policy changed after the configuration was read: nothing of that commit was written;
            # read the tenants' policies again and count what is left under them
            for tenant in stale:
                self.configs.invalidate(tenant)
            events = left
        report.retry_record_ids.extend(record_id for record_id, _ in events)

    def _count_under_current_config(
        self, events: list[tuple[str, UsageEvent]], raw_by_record: dict[str, bytes], report: IngestReport
    ) -> tuple[list[tuple[str, UsageEvent]], set[str]]:
        """Counts ``events`` under the tenants' configuration as read now. Returns the events left
        uncounted because a tenant's configuration changed meanwhile, and those tenants."""
        try:
            configs = {tenant: self.configs.load(tenant) for tenant in {e.tenant_id for _, e in events}}
        except StoreUnavailable:
            report.retry_record_ids.extend(record_id for record_id, _ in events)
            return [], set()
        priced = [
            PricedEvent(event, self.pricer.quote(event, configs[event.tenant_id].overrides), record_id)
            for record_id, event in events
        ]
        policies = _policies_by_tenant(configs)
        versions = {tenant: config.version for tenant, config in configs.items()}
        try:
            settlements = self._settlements(events)
        except StoreUnavailable:
            report.retry_record_ids.extend(record_id for record_id, _ in events)
            return [], set()
        try:
            commits = plan_commits(priced, policies, config_versions=versions, settlements=settlements)
        except OversizedEvents as error:
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
            commits = plan_commits(
                [p for p in priced if id(p) not in dropped],
                policies,
                config_versions=versions,
                settlements=settlements,
            )
        for index, commit in enumerate(commits):
            try:
                committed, duplicates = self._commit_or_split(commit, policies, raw_by_record, report)
            except StaleConfiguration as stale:
                left = [(p.record_id, p.event) for c in commits[index:] for p in c.events]
                return left, stale.tenant_ids
            except StoreUnavailable:
                report.retry_record_ids.extend(p.record_id for c in commits[index:] for p in c.events)
                return [], set()
            report.committed.extend(committed)
            report.duplicates += duplicates
            # also when all were duplicates: a retried batch may have committed before it failed;
            # a seeding the store cut short hands the records back, to be seeded on their retry
            if not self._seed_earlier_periods(commit):
                report.retry_record_ids.extend(p.record_id for p in commit.events)
        return [], set()

    def _seed_earlier_periods(self, commit: Commit) -> bool:
        """A late event can open a counter in a period that began before its policy counted (a
        policy created today, an event of yesterday): that counter starts from the period's
        recorded spend too (invariant 9), like the current period's did when the policy was made.
        False when the store was unavailable for it."""
        if self.earlier_periods is None:
            return True
        now = self.clock.now()
        for key, delta in commit.deltas.items():
            policy = delta.policy
            if not isinstance(key, PolicyCounterKey) or policy is None or delta.first_moment is None:
                continue
            if key in self._opened or not policy.include_existing_spend:
                continue
            if key.period_key == period_key(policy.period, policy.timezone, now):
                continue  # the current period is seeded by the policy's own write
            window = period_window(policy.period, policy.timezone, delta.first_moment)
            if window.start >= policy.counting_since:
                self._opened.add(key)
                continue
            try:
                self.earlier_periods().seed(policy, key, window)
            except StoreUnavailable:
                return False
            if len(self._opened) > 10_000:
                self._opened.clear()
            self._opened.add(key)
        return True

    def _settlements(self, events: list[tuple[str, UsageEvent]]) -> dict[tuple[str, str], Settlement]:
        """The active reservations the events settle: their holds come off in the same commit."""
        wanted = {(e.tenant_id, e.reservation_id) for _, e in events if e.reservation_id}
        if not wanted or self.reservations is None:
            return {}
        return self.reservations.active(wanted)

    def _commit_or_split(
        self,
        commit: Commit,
        policies: dict[str, Sequence[Policy]],
        raw_by_record: dict[str, bytes],
        report: IngestReport,
    ) -> tuple[list[PricedEvent], int]:
        """Commits ``commit``. One the store refuses for what it is (a rollup item full of
        breakdowns, an expression too long) is tried again with totals-only rollups, so the money
        still counts everywhere; refused again, it is split in halves until each part commits or
        holds a single event, which is dead-lettered with the store's reason (it would fail every
        retry and block the shard behind it)."""
        try:
            return self._commit(commit, policies)
        except UncommittableCommit as refused:
            if commit.breakdowns:
                plain = plan_commits(
                    commit.events,
                    policies,
                    max_actions=10**9,
                    config_versions=commit.config_versions,
                    settlements=commit.settlements,
                    breakdowns=False,
                )
                return self._commit_parts(plain, policies, raw_by_record, report)
            if len(commit.events) == 1:
                [event] = commit.events
                reason = f"the store refused the event's commit: {refused}"
                data = raw_by_record.get(event.record_id, b"")
                report.rejected.append(Rejection(event.record_id, reason, data))
                return [], 0
        middle = len(commit.events) // 2
        halves = [
            part
            for half in (commit.events[:middle], commit.events[middle:])
            for part in plan_commits(
                half,
                policies,
                config_versions=commit.config_versions,
                settlements=commit.settlements,
                breakdowns=False,
            )
        ]
        return self._commit_parts(halves, policies, raw_by_record, report)

    def _commit_parts(
        self,
        parts: Sequence[Commit],
        policies: dict[str, Sequence[Policy]],
        raw_by_record: dict[str, bytes],
        report: IngestReport,
    ) -> tuple[list[PricedEvent], int]:
        committed: list[PricedEvent] = []
        duplicates = 0
        for part in parts:
            done, repeated = self._commit_or_split(part, policies, raw_by_record, report)
            committed.extend(done)
            duplicates += repeated
        return committed, duplicates

    def _commit(self, commit: Commit, policies: dict[str, Sequence[Policy]]) -> tuple[list[PricedEvent], int]:
        duplicates = 0
        for _ in range(MAX_COMMIT_ROUNDS):
            if not commit.events:
                return [], duplicates
            try:
                applied = self.ledger.try_commit(commit)
            except InactiveReservations as gone:
                # released or settled meanwhile: the events count, their holds are already off
                commit.settlements = {k: v for k, v in commit.settlements.items() if k not in gone.keys}
                commit = without(commit, set(), policies)
                continue
            if not applied:
                return commit.events, duplicates
            duplicates += len(applied)
            commit = without(commit, applied, policies)
        raise StoreUnavailable("too many rounds of already-applied events")


def _policies_by_tenant(configs: dict[str, TenantBudgetConfig]) -> dict[str, Sequence[Policy]]:
    return {tenant: config.policies for tenant, config in configs.items()}
