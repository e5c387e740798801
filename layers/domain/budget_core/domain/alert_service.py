"""check_thresholds: each alert a counter change raises is claimed once, then delivered.

An alert is claimed (a conditional write keyed by policy, period, kind and threshold) before anything
is sent, so a redelivered stream record or a second consumer never sends it twice (invariant 6). The
claim records what has been delivered: when publishing fails after the claim, the record is retried
and the retry finds the claim still pending and delivers it then, so nothing is lost either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from budget_core.domain.alerting import Alert, AlertKind, CounterSnapshot, ForecastRule, detect_crossings


class DeliveryFailed(Exception):
    """A channel (topic or bus) did not take the alert; the claim stays pending."""


class AlertDeliveryIncomplete(Exception):
    """Some claimed alerts could not be delivered yet; the stream record must be retried."""

    def __init__(self, report: ThresholdReport) -> None:
        super().__init__("; ".join(report.failures))
        self.report = report


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
    pending: list[ClaimedAlert]  # claimed now, or earlier and not yet fully delivered
    duplicates: int = 0  # claimed and delivered before: nothing to do
    policy_gone: bool = False  # the policy was deleted or paused since the counter was written


class AlertClaims(Protocol):
    def claim(self, alerts: Sequence[Alert]) -> ClaimOutcome: ...

    def record_delivery(self, claims: Sequence[ClaimedAlert]) -> None:
        """Store how far each claim got, so that a retry sends only what is missing."""


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

        progressed: list[ClaimedAlert] = []
        failures: list[str] = []
        sent = announced = forecasts = 0
        for claim in outcome.pending:
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
            if updated != claim:
                progressed.append(updated)
        if progressed:
            self.claims.record_delivery(progressed)
        report = ThresholdReport(
            raised=len(alerts),
            sent=sent,
            announced=announced,
            forecasts=forecasts,
            deduplicated=outcome.duplicates,
            failures=failures,
        )
        if failures:
            raise AlertDeliveryIncomplete(report)
        return report
