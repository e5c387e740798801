"""Settling a reservation synchronously: the call's actual cost counts and its hold comes off in one
transaction, so the very next check sees real spend instead of the estimate.

The settling usage event is counted by the ingestion path itself (the same pricing, policies,
configuration-version check and exactly-once record), with the reservation to settle: the same
event arriving later on the stream is a duplicate, and so is a second settle. A settle of a
reservation already settled answers the first settle's result, whatever event it sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from budget_core.domain.checks.models import RESERVATION_ID
from budget_core.domain.checks.ports import ReservationStore
from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import NotFound, StoreUnavailable, ValidationFailed, validation_details
from budget_core.domain.usage.event import UsageEvent
from budget_core.domain.usage.ingestion import IngestReport, UsageIngestor

SETTLED = "settled"
# Set by the service, never by the caller: the tenant is the token's, the reservation the path's.
SERVICE_FIELDS = ("tenant_id", "reservation_id")


@dataclass(frozen=True)
class SettledReservation:
    reservation_id: str
    event_id: str
    cost_usd: Decimal | None  # None: unpriced (counted as such, never as $0)
    replayed: bool = False  # answered from an earlier settle

    @property
    def unpriced(self) -> bool:
        return self.cost_usd is None


class UsageRecords(Protocol):
    def cost_of(self, tenant_id: str, event_id: str) -> tuple[bool, Decimal | None]:
        """(whether the event was counted, its cost: None when unpriced)."""


def settling_event_id(reservation_id: str) -> str:
    """The event id of a settle that names none: one per reservation, so a retried settle is the
    same event, counted once."""
    return f"settle-{reservation_id}"


@dataclass
class ReservationSettler:
    reservations: ReservationStore
    usage_records: UsageRecords
    ingestor: Callable[[], UsageIngestor]  # built on first use: settles are one route of many
    clock: Clock

    def settle(
        self, principal: Principal, reservation_id: str, body: Mapping[str, Any]
    ) -> SettledReservation:
        principal.require(Action.SPEND)
        tenant = principal.tenant_id
        valid = RESERVATION_ID.match(reservation_id) is not None
        reservation = self.reservations.get(tenant, reservation_id) if valid else None
        if reservation is None:
            raise NotFound(f"reservation '{reservation_id}' does not exist")
        if reservation.status == SETTLED and reservation.settled_by is not None:
            return self._answered(tenant, reservation_id, reservation.settled_by)
        event = self._event(tenant, reservation_id, body)
        report = IngestReport()
        raw = json.dumps(dict(body), default=str).encode()
        self.ingestor().count_valid([(event.event_id, event)], {event.event_id: raw}, report)
        if report.committed:
            [counted] = report.committed
            return SettledReservation(reservation_id, event.event_id, counted.quote.cost_usd)
        if report.rejected:
            [rejected] = report.rejected
            raise ValidationFailed(rejected.reason, details=[{"field": None, "message": rejected.reason}])
        if report.retry_record_ids:
            raise StoreUnavailable("the usage could not be counted now; retry the settle")
        # counted already: by an earlier settle, or the same event arrived on the stream first
        return self._answered(tenant, reservation_id, event.event_id)

    def _event(self, tenant: str, reservation_id: str, body: Mapping[str, Any]) -> UsageEvent:
        for name in SERVICE_FIELDS:
            if name in body:
                raise ValidationFailed(
                    f"{name} is not part of a settle: it is the token's tenant and the path's reservation",
                    details=[{"field": name, "message": "not allowed"}],
                )
        now = self.clock.now()
        fields = {
            "event_id": settling_event_id(reservation_id),
            "timestamp": now.isoformat(),
            **body,
            "tenant_id": tenant,
            "reservation_id": reservation_id,
        }
        try:
            return UsageEvent.model_validate(fields, context={"now": now})
        except ValidationError as error:
            details = validation_details(error.errors(include_input=False))
            raise ValidationFailed("invalid usage event", details=details[:10]) from None

    def _answered(self, tenant: str, reservation_id: str, event_id: str) -> SettledReservation:
        counted, cost = self.usage_records.cost_of(tenant, event_id)
        if not counted:  # settled, and the event's record is past its retention
            raise NotFound(f"reservation '{reservation_id}' was settled by '{event_id}', no longer kept")
        return SettledReservation(reservation_id, event_id, cost, replayed=True)
