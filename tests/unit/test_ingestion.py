"""The ingestion use case against fakes of its own ports: what is committed, what is dead-lettered,
what is handed back to the stream for a retry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from budget_core.domain.shared.errors import StoreUnavailable
from budget_core.domain.tenants.config import StaleConfiguration, TenantBudgetConfig
from budget_core.domain.usage.accounting import Commit
from budget_core.domain.usage.ingestion import UsageIngestor
from budget_core.domain.usage.ports import Rejection, UncommittableCommit
from budget_core.domain.usage.pricing.pricer import Pricer
from tests.support.clocks import FixedClock

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


@dataclass
class FakeLedger:
    applied: set[tuple[str, str]] = field(default_factory=set)
    busy_after: int | None = None  # commits that succeed before the store starts throttling
    commits: int = 0
    refused: set[str] = field(default_factory=set)  # event ids whose commit the store refuses
    stale_for: int = 0  # the next N commits find the tenant's configuration moved on
    full_of_breakdowns: bool = False  # rollup items too full to take another breakdown
    plain_commits: int = 0

    def try_commit(self, commit: Commit) -> set[tuple[str, str]]:
        if self.busy_after is not None and self.commits >= self.busy_after:
            raise StoreUnavailable("throttled")
        if self.stale_for:
            self.stale_for -= 1
            raise StaleConfiguration(set(commit.config_versions))
        if any(p.event.event_id in self.refused for p in commit.events):
            raise UncommittableCommit("item too large")
        if self.full_of_breakdowns and commit.breakdowns:
            raise UncommittableCommit("Item size has exceeded the maximum allowed size")
        self.plain_commits += not commit.breakdowns
        ids = {(p.event.tenant_id, p.event.event_id) for p in commit.events}
        already = ids & self.applied
        if already:
            return already
        self.applied |= ids
        self.commits += 1
        return set()


@dataclass
class FakeConfigs:
    busy: bool = False
    loads: int = 0
    invalidated: list[str] = field(default_factory=list)

    def load(self, tenant_id: str) -> TenantBudgetConfig:
        if self.busy:
            raise StoreUnavailable("throttled")
        self.loads += 1
        return TenantBudgetConfig()

    def invalidate(self, tenant_id: str) -> None:
        self.invalidated.append(tenant_id)


@dataclass
class FakeDeadLetters:
    reachable: bool = True
    sent: list[Rejection] = field(default_factory=list)

    def send(self, rejections: Sequence[Rejection]) -> list[Rejection]:
        if not self.reachable:
            return list(rejections)
        self.sent.extend(rejections)
        return []


def _record(index: int, tenant: str = "t") -> tuple[str, bytes]:
    event = {
        "event_id": f"e{index}",
        "tenant_id": tenant,
        "timestamp": NOW.isoformat(),
        "kind": "custom",
        "cost_usd": "1",
        "user_id": f"u{index}",
    }
    return str(index), json.dumps(event).encode()


def _ingestor(
    ledger: FakeLedger, configs: FakeConfigs | None = None, letters: FakeDeadLetters | None = None
) -> UsageIngestor:
    return UsageIngestor(
        configs or FakeConfigs(), ledger, Pricer(), letters or FakeDeadLetters(), FixedClock(NOW)
    )


def test_already_applied_events_are_dropped_and_the_rest_commit() -> None:
    ledger = FakeLedger(applied={("t", "e1")})
    report = _ingestor(ledger).ingest([_record(0), _record(1), _record(2)])
    assert sorted(p.event.event_id for p in report.committed) == ["e0", "e2"]
    assert report.duplicates == 1
    assert report.retry_record_ids == []


def test_a_store_that_starts_throttling_hands_back_only_what_did_not_commit() -> None:
    # Given 150 users' events (more than one transaction) and a store that throttles after one commit
    ledger = FakeLedger(busy_after=1)
    records = [_record(i) for i in range(150)]
    report = _ingestor(ledger).ingest(records)
    committed = {p.record_id for p in report.committed}
    assert committed
    assert set(report.retry_record_ids) == {rid for rid, _ in records} - committed


def test_a_tenant_config_that_cannot_be_read_retries_the_batch() -> None:
    report = _ingestor(FakeLedger(), FakeConfigs(busy=True)).ingest([_record(0), _record(1)])
    assert report.committed == []
    assert report.retry_record_ids == ["0", "1"]


def test_rejections_go_to_the_dead_letters_and_are_retried_only_if_they_could_not_be_sent() -> None:
    letters = FakeDeadLetters()
    report = _ingestor(FakeLedger(), letters=letters).ingest([_record(0), ("x", b"{oops")])
    assert [r.record_id for r in letters.sent] == ["x"]
    assert report.retry_record_ids == []
    unreachable = FakeDeadLetters(reachable=False)
    report = _ingestor(FakeLedger(), letters=unreachable).ingest([("y", b"[]")])
    assert report.retry_record_ids == ["y"]


def test_an_event_under_more_budgets_than_a_transaction_holds_is_dead_lettered_not_retried() -> None:
    from budget_core.domain.policies.policy import NewPolicy, Policy

    # Given 100 tenant-wide policies (each event moves 100 counters plus its rollups)
    policies = []
    for index in range(100):
        new = NewPolicy.model_validate(
            {
                "name": "p",
                "scope": {"type": "tenant"},
                "period": "total",
                "limit_usd": "1",
                "filters": {"model": f"m{index}"},
            }
        )
        policies.append(new)

    class ManyPolicies(FakeConfigs):
        def load(self, tenant_id: str) -> TenantBudgetConfig:
            made = [
                Policy(
                    **p.model_dump() | {"filters": {}},
                    policy_id=f"pol_{i:028x}",
                    tenant_id=tenant_id,
                    version=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
                for i, p in enumerate(policies)
            ]
            return TenantBudgetConfig(policies=made)

    letters = FakeDeadLetters()
    ledger = FakeLedger()
    report = _ingestor(ledger, ManyPolicies(), letters).ingest([_record(0)])
    # Then it is rejected with its reason, and nothing asks the stream to retry it
    assert [r.record_id for r in letters.sent] == ["0"]
    assert "more budgets than one transaction" in letters.sent[0].reason
    assert report.retry_record_ids == []
    assert ledger.commits == 0


def test_a_commit_the_store_refuses_is_split_until_only_the_refused_event_is_dead_lettered() -> None:
    # Given 150 events, one of which the store refuses whatever it is committed with
    ledger, letters = FakeLedger(refused={"e77"}), FakeDeadLetters()
    report = _ingestor(ledger, letters=letters).ingest([_record(i) for i in range(150)])
    # Then every other event commits, nothing is retried, and the refused one carries the reason
    assert len(report.committed) == 149
    assert report.retry_record_ids == []
    [letter] = letters.sent
    assert letter.record_id == "77"
    assert "item too large" in letter.reason


def test_a_commit_planned_under_a_stale_configuration_is_planned_again_after_a_fresh_read() -> None:
    configs = FakeConfigs()
    ledger = FakeLedger(stale_for=2)
    report = _ingestor(ledger, configs).ingest([_record(0), _record(1)])
    assert sorted(p.event.event_id for p in report.committed) == ["e0", "e1"]
    assert configs.invalidated == ["t", "t"]
    assert configs.loads == 3


def test_a_configuration_that_keeps_moving_hands_the_records_back() -> None:
    report = _ingestor(FakeLedger(stale_for=100)).ingest([_record(0)])
    assert report.committed == []
    assert report.retry_record_ids == ["0"]


def test_rollups_too_full_for_breakdowns_still_take_the_money() -> None:
    # Given a store whose rollup items cannot take another breakdown entry
    ledger, letters = FakeLedger(full_of_breakdowns=True), FakeDeadLetters()
    report = _ingestor(ledger, letters=letters).ingest([_record(i) for i in range(150)])
    # Then every event still commits (totals-only rollups), none is dead-lettered or retried
    assert len(report.committed) == 150
    assert letters.sent == []
    assert report.retry_record_ids == []
    assert ledger.plain_commits == ledger.commits
