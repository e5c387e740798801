"""Response bodies of the HTTP API (DESIGN "HTTP API v1"): money as decimal strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from budget_core.domain.alert_history import AlertRecord
from budget_core.domain.budget_checks import CheckResult, PolicyVerdict, Reservation
from budget_core.domain.budget_status import PolicyStatusView
from budget_core.domain.money import Money
from budget_core.domain.policy import Enforcement, Period, Scope
from budget_core.domain.usage_queries import Spend, Summary, Trend


class SpendView(BaseModel):
    cost_usd: Money
    events: int


class CheckedPolicy(BaseModel):
    policy_id: str
    name: str
    scope: Scope
    period: Period
    period_key: str
    period_end: datetime
    limit_usd: Money
    spent_usd: Money | None
    reserved_usd: Money | None
    remaining_usd: Money | None
    enforcement: Enforcement
    blocking: bool


class CheckResponse(BaseModel):
    allowed: bool
    decision: str
    estimated_cost_usd: Money
    policies: list[CheckedPolicy]
    blocking_policy_ids: list[str]
    degraded: bool
    message: str

    @classmethod
    def of(cls, result: CheckResult) -> CheckResponse:
        decision = result.decision.value
        if not result.verdicts:
            message = "no active policy covers this call"
        elif result.degraded:
            message = "spend could not be read; each policy's fail mode decided"
        else:
            message = {
                "allow": "within every budget",
                "deny": "a hard limit would be exceeded",
                "allow_soft_limit": "a soft limit would be exceeded",
            }[decision]
        return cls(
            allowed=decision != "deny",
            decision=decision,
            estimated_cost_usd=result.amount_usd,
            policies=[_checked(v) for v in result.verdicts],
            blocking_policy_ids=result.blocking_policy_ids,
            degraded=result.degraded,
            message=message,
        )


def _checked(verdict: PolicyVerdict) -> CheckedPolicy:
    standing, policy = verdict.standing, verdict.policy
    return CheckedPolicy(
        policy_id=policy.policy_id,
        name=policy.name,
        scope=policy.scope,
        period=policy.period,
        period_key=verdict.period_key,
        period_end=verdict.period_end,
        limit_usd=policy.limit_usd,
        spent_usd=standing.spent_usd if standing else None,
        reserved_usd=standing.reserved_usd if standing else None,
        remaining_usd=standing.remaining_usd if standing else None,
        enforcement=policy.enforcement,
        blocking=verdict.blocking,
    )


class ReservationResponse(BaseModel):
    reservation_id: str
    amount_usd: Money
    created_at: datetime
    expires_at: datetime
    policy_ids: list[str]

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationResponse:
        return cls(
            reservation_id=reservation.reservation_id,
            amount_usd=reservation.amount_usd,
            created_at=reservation.created_at,
            expires_at=reservation.expires_at,
            policy_ids=reservation.policy_ids,
        )


class StatusResponse(BaseModel):
    policy_id: str
    period: Period
    period_key: str
    period_start: datetime
    period_end: datetime
    limit_usd: Money
    spent_usd: Money
    reserved_usd: Money
    remaining_usd: Money
    percent_used: Money
    forecast_usd: Money | None
    enforcement: Enforcement

    @classmethod
    def of(cls, view: PolicyStatusView) -> StatusResponse:
        s = view.standing
        return cls(
            policy_id=s.policy.policy_id,
            period=s.policy.period,
            period_key=s.window.key,
            period_start=s.window.start,
            period_end=s.window.end,
            limit_usd=s.policy.limit_usd,
            spent_usd=s.spent_usd,
            reserved_usd=s.reserved_usd,
            remaining_usd=s.remaining_usd,
            percent_used=view.percent_used,
            forecast_usd=view.forecast_usd,
            enforcement=s.policy.enforcement,
        )


class SummaryResponse(BaseModel):
    model_config = ConfigDict(ser_json_timedelta="iso8601")

    start: datetime
    end: datetime
    cost_usd: Money
    events: int
    unpriced_events: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    images: int
    by_provider: dict[str, SpendView]
    by_model: dict[str, SpendView]
    by_operation: dict[str, SpendView]

    @classmethod
    def of(cls, summary: Summary) -> SummaryResponse:
        t = summary.totals

        def views(part: dict[str, Spend]) -> dict[str, SpendView]:
            return {name: SpendView(cost_usd=s.cost_usd, events=s.events) for name, s in sorted(part.items())}

        return cls(
            start=summary.start,
            end=summary.end,
            cost_usd=t.cost_usd,
            events=t.events,
            unpriced_events=t.unpriced_events,
            input_tokens=t.input_tokens,
            output_tokens=t.output_tokens,
            cache_read_tokens=t.cache_read_tokens,
            cache_write_tokens=t.cache_write_tokens,
            images=t.images,
            by_provider=views(summary.by_provider),
            by_model=views(summary.by_model),
            by_operation=views(summary.by_operation),
        )


class AlertView(BaseModel):
    """One alert as subscribers received it (DESIGN "Alert message"), and whether it was delivered."""

    alert_id: str
    tenant_id: str
    policy_id: str
    policy_name: str
    scope: Scope
    period: Period
    period_key: str
    period_start: datetime
    period_end: datetime
    kind: str
    threshold_percent: int
    spent_usd: Money
    limit_usd: Money
    percent_used: Money
    forecast_usd: Money | None
    crossed_at: datetime
    delivered: bool
    delivery: str  # delivered, pending (a retry or the sweep will send it), skipped (policy gone)

    @classmethod
    def of(cls, record: AlertRecord) -> AlertView:
        return cls.model_validate(
            {**record.alert.message(), "delivered": record.delivered, "delivery": record.delivery}
        )


class AlertPage(BaseModel):
    items: list[AlertView]
    next_token: str | None


class TrendPoint(BaseModel):
    start: datetime
    cost_usd: Money
    events: int


class TrendResponse(BaseModel):
    granularity: str
    points: list[TrendPoint]

    @classmethod
    def of(cls, trend: Trend) -> TrendResponse:
        return cls(
            granularity=trend.granularity.value,
            points=[TrendPoint(start=m, cost_usd=s.cost_usd, events=s.events) for m, s in trend.points],
        )


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
