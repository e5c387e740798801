"""check_thresholds: each alert a counter change raises is claimed once, then delivered.

An alert is claimed (a conditional write keyed by policy, period, kind and threshold) before anything
is sent, so a redelivered stream record or a second consumer never sends it twice (invariant 6). The
claim records what has been delivered and carries a short lease, so that only one deliverer works on
it at a time. When publishing fails after the claim, the record is retried and the retry delivers
what is missing; if the stream gives up, the scheduled sweep (``redeliver_pending``) finds the
claim still pending and delivers it then. Nothing is lost, nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from budget_core.domain.alerts.rules import Alert, AlertKind, CounterSnapshot, ForecastRule, detect_crossings
from budget_core.domain.policies.enums import PolicyStatus

if TYPE_CHECKING:
    from budget_core.domain.policies.ports import PolicyRepository


class DeliveryFailed(Exception):
    """A channel (topic or bus) did not take the alert; the claim stays pending."""


@dataclass(frozen=True)
class ClaimedAlert:
    alert: Alert
    notified: bool = False  # published to the alert topic (or needs no message)
    announced: bool = False  # put on the event bus

    @property
    def delivered(self) -> bool:
        return self.notified and self.announced


@dataclass(frozen=True)
class ClaimOutcome:
    pending: list[ClaimedAlert]  # claims this caller now holds the lease of: claimed now, or left over
    duplicates: int = 0  # claimed and delivered before: nothing to do
    in_flight: int = 0  # pending, but another deliverer holds the lease
    policy_gone: bool = False  # the policy was deleted or paused since the counter was written


class AlertClaims(Protocol):
    def claim(self, alerts: Sequence[Alert]) -> ClaimOutcome: ...

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        """Store how far each claim got and give up its lease: a delivered claim stops being
        pending; the others wait for the retry or the sweep."""

    def lease_pending(self, limit: int) -> list[ClaimedAlert]:
        """Pending claims whose lease has run out, each now leased to the caller (oldest first)."""

    def skip(self, claims: Sequence[ClaimedAlert], reason: str) -> None:
        """Stop trying to deliver ``claims`` (their policy is gone); they stay in the history."""


class AlertNotifier(Protocol):
    def notify(self, alert: Alert) -> None:
        """Publish the alert message to subscribers; DeliveryFailed when it was not taken."""


class BudgetEvents(Protocol):
    def announce(self, alert: Alert) -> None:
        """Put the alert on the event bus for other services; DeliveryFailed when it was not taken."""


@dataclass(frozen=True)
class ThresholdReport:
    raised: int = 0
    sent: int = 0
    announced: int = 0
    forecasts: int = 0
    deduplicated: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


class AlertDeliveryIncomplete(Exception):
    """Some claimed alerts could not be delivered yet; the stream record must be retried."""

    def __init__(self, report: ThresholdReport) -> None:
        super().__init__("; ".join(report.failures))
        self.report = report


@dataclass
class AlertService:
    claims: AlertClaims
    notifier: AlertNotifier
    events: BudgetEvents
    rule: ForecastRule = field(default_factory=ForecastRule)

    def check_thresholds(self, before: CounterSnapshot | None, after: CounterSnapshot) -> ThresholdReport:
        """Raise, claim and deliver the alerts of one counter change; AlertDeliveryIncomplete when a
        channel failed (the claims say what is left for the retry)."""
        alerts = detect_crossings(before, after, self.rule)
        if not alerts:
            return ThresholdReport()
        if not after.policy_active:
            return ThresholdReport(raised=len(alerts), skipped=len(alerts))
        outcome = self.claims.claim(alerts)
        if outcome.policy_gone:
            return ThresholdReport(raised=len(alerts), skipped=len(alerts))
        report = self._deliver(outcome.pending)
        report = replace(report, raised=len(alerts), deduplicated=outcome.duplicates + outcome.in_flight)
        if report.failures:
            raise AlertDeliveryIncomplete(report)
        return report

    def redeliver_pending(self, policies: PolicyRepository, limit: int = 100) -> ThresholdReport:
        """The sweep: deliver claims that the stream left pending (its retries ran out, or the
        function stopped half-way). Claims of deleted or paused policies are skipped."""
        leased = self.claims.lease_pending(limit)
        live: list[ClaimedAlert] = []
        gone: list[ClaimedAlert] = []
        active: dict[tuple[str, str], bool] = {}  # a policy's thresholds share one read
        for claim in leased:
            policy_key = claim.alert.counter.tenant_id, claim.alert.counter.policy_id
            if policy_key not in active:
                policy = policies.get(*policy_key)
                active[policy_key] = policy is not None and policy.status is PolicyStatus.ACTIVE
            (live if active[policy_key] else gone).append(claim)
        if gone:
            self.claims.skip(gone, "the policy was deleted or paused before the alert was delivered")
        report = self._deliver(live)
        return replace(report, raised=len(leased), skipped=len(gone))

    def _deliver(self, claims: Sequence[ClaimedAlert]) -> ThresholdReport:
        handled: list[ClaimedAlert] = []
        failures: list[str] = []
        sent = announced = forecasts = 0
        for claim in claims:
            updated = claim
            try:
                if not updated.notified:
                    if updated.alert.notifies_subscribers:
                        self.notifier.notify(updated.alert)
                        sent += 1
                        forecasts += updated.alert.kind is AlertKind.FORECAST
                    updated = replace(updated, notified=True)
                if not updated.announced:
                    self.events.announce(updated.alert)
                    announced += 1
                    updated = replace(updated, announced=True)
            except DeliveryFailed as error:
                failures.append(f"{updated.alert.alert_id}: {error}")
            handled.append(updated)
        if handled:
            self.claims.record_delivery(handled)
        return ThresholdReport(sent=sent, announced=announced, forecasts=forecasts, failures=failures)
