"""check_thresholds against fakes of its own ports: claim once, deliver, retry what failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest

from budget_core.domain.alerts.rules import Alert
from budget_core.domain.alerts.service import (
    AlertDeliveryIncomplete,
    AlertService,
    ClaimedAlert,
    ClaimOutcome,
    DeliveryFailed,
)
from tests.support.counters import counter
from tests.support.fakes import InMemoryPolicyRepository, stored_policy


@dataclass
class FakeClaims:
    stored: dict[str, ClaimedAlert] = field(default_factory=dict)
    policy_gone: bool = False
    requests: int = 0

    def claim(self, alerts: Sequence[Alert]) -> ClaimOutcome:
        self.requests += 1
        if self.policy_gone:
            return ClaimOutcome(pending=[], policy_gone=True)
        pending, duplicates = [], 0
        for alert in alerts:
            existing = self.stored.setdefault(alert.alert_id, ClaimedAlert(alert))
            if existing.delivered:
                duplicates += 1
            else:
                pending.append(existing)
        return ClaimOutcome(pending=pending, duplicates=duplicates)

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        self.requests += 1
        for claim in claims:
            self.stored[claim.alert.alert_id] = claim


@dataclass
class FlakyChannel:
    failures_left: int = 0
    received: list[str] = field(default_factory=list)

    def _take(self, alert: Alert) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise DeliveryFailed("unavailable")
        self.received.append(f"{alert.kind.value}:{alert.threshold_percent}")

    def notify(self, alert: Alert) -> None:
        self._take(alert)

    def announce(self, alert: Alert) -> None:
        self._take(alert)


def service(claims: FakeClaims, topic: FlakyChannel, bus: FlakyChannel) -> AlertService:
    return AlertService(claims=claims, notifier=topic, events=bus)


def test_a_crossing_is_claimed_then_published_and_announced() -> None:
    claims, topic, bus = FakeClaims(), FlakyChannel(), FlakyChannel()
    report = service(claims, topic, bus).check_thresholds(counter("40"), counter("130"))
    assert topic.received == ["actual:50", "actual:80", "actual:100"]  # the exceeded event is not a message
    assert bus.received == ["actual:50", "actual:80", "actual:100", "exceeded:100"]
    assert (report.sent, report.announced, report.deduplicated) == (3, 4, 0)
    assert claims.requests == 2  # one claim, one delivery record


def test_a_change_that_crosses_nothing_touches_no_port() -> None:
    claims, topic, bus = FakeClaims(), FlakyChannel(), FlakyChannel()
    report = service(claims, topic, bus).check_thresholds(counter("51"), counter("60"))
    assert (claims.requests, topic.received, bus.received, report.raised) == (0, [], [], 0)


def test_the_same_change_delivered_again_sends_nothing_twice() -> None:
    claims, topic, bus = FakeClaims(), FlakyChannel(), FlakyChannel()
    alerts = service(claims, topic, bus)
    alerts.check_thresholds(counter("40"), counter("90"))
    report = alerts.check_thresholds(counter("40"), counter("90"))
    assert topic.received == ["actual:50", "actual:80"]
    assert report.deduplicated == 2


def test_a_failed_publish_is_delivered_by_the_retry_once() -> None:
    # Given the topic refuses the first message
    claims, topic, bus = FakeClaims(), FlakyChannel(failures_left=1), FlakyChannel()
    alerts = service(claims, topic, bus)
    # When the record is handled, Then the record must be retried
    with pytest.raises(AlertDeliveryIncomplete) as failed:
        alerts.check_thresholds(counter("40"), counter("90"))
    assert failed.value.report.sent == 1
    # And the retry sends only what is missing
    alerts.check_thresholds(counter("40"), counter("90"))
    assert sorted(topic.received) == ["actual:50", "actual:80"]
    assert sorted(bus.received) == ["actual:50", "actual:80"]


def test_a_message_already_published_is_not_sent_again_when_only_the_bus_failed() -> None:
    claims, topic, bus = FakeClaims(), FlakyChannel(), FlakyChannel(failures_left=1)
    alerts = service(claims, topic, bus)
    with pytest.raises(AlertDeliveryIncomplete):
        alerts.check_thresholds(counter("79"), counter("81"))
    alerts.check_thresholds(counter("79"), counter("81"))
    assert (topic.received, bus.received) == (["actual:80"], ["actual:80"])


def test_alerts_of_a_deleted_or_paused_policy_are_skipped() -> None:
    topic, bus = FlakyChannel(), FlakyChannel()
    report = service(FakeClaims(policy_gone=True), topic, bus).check_thresholds(counter("40"), counter("90"))
    assert (report.skipped, topic.received) == (2, [])
    paused = replace(counter("90"), policy_active=False)
    report = service(FakeClaims(), topic, bus).check_thresholds(counter("40"), paused)
    assert (report.skipped, topic.received) == (2, [])


@dataclass
class PendingClaims(FakeClaims):
    skipped: list[str] = field(default_factory=list)

    def lease_pending(self, limit: int) -> list[ClaimedAlert]:
        return [c for c in self.stored.values() if not c.delivered][:limit]

    def skip(self, claims: Sequence[ClaimedAlert], reason: str) -> None:
        for claim in claims:
            self.skipped.append(claim.alert.alert_id)
            del self.stored[claim.alert.alert_id]


def test_the_sweep_delivers_what_is_pending_and_skips_what_lost_its_policy() -> None:
    # Given two pending claims: one of a live policy, one of a deleted policy
    claims, topic, bus = PendingClaims(), FlakyChannel(failures_left=2), FlakyChannel()
    alerts = service(claims, topic, bus)
    live_policy = "pol_" + "a" * 28
    gone_policy = "pol_" + "b" * 28
    for policy in (live_policy, gone_policy):
        with pytest.raises(AlertDeliveryIncomplete):
            alerts.check_thresholds(counter("40", policy_id=policy), counter("60", policy_id=policy))
    repository = InMemoryPolicyRepository()
    repository.policies[("t1", live_policy)] = stored_policy("t1", live_policy)
    # When the sweep runs
    report = alerts.redeliver_pending(repository)
    # Then the live one is delivered, the other skipped
    assert (report.sent, report.skipped) == (1, 1)
    assert topic.received == ["actual:50"]
    assert len(claims.skipped) == 1
