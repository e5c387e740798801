"""``GET /v1/alerts``: the alerts a tenant was sent, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from budget_core.domain.alerts.rules import Alert
from budget_core.domain.policies.ports import Page
from budget_core.domain.shared.auth import Action, Principal


@dataclass(frozen=True)
class AlertRecord:
    alert: Alert
    delivered: bool  # False while a claimed alert waits for the topic to take it
    skipped: bool = False  # its policy was deleted or paused before it could be delivered

    @property
    def delivery(self) -> str:
        return "delivered" if self.delivered else "skipped" if self.skipped else "pending"


@dataclass(frozen=True)
class AlertQuery:
    limit: int
    next_token: str | None = None
    policy_id: str | None = None
    since: datetime | None = None


class AlertHistoryReader(Protocol):
    def query(self, tenant_id: str, query: AlertQuery) -> Page[AlertRecord]:
        """InvalidRequest if ``query.next_token`` was not made by this reader for this tenant."""


@dataclass
class AlertHistory:
    reader: AlertHistoryReader

    def list_alerts(self, principal: Principal, query: AlertQuery) -> Page[AlertRecord]:
        principal.require(Action.READ)
        return self.reader.query(principal.tenant_id, query)
