"""Routes of the pre-flight checks: check_budget and reservations held against hard limits."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from pydantic import BaseModel
from usage_event_schema import documented_usage_event

from api_bootstrap import root
from budget_core.domain.checks.models import (
    CheckRequest,
    CheckResult,
    PolicyVerdict,
    Reservation,
    ReservationRequest,
)
from budget_core.domain.policies.policy import Enforcement, Period, Scope
from budget_core.domain.shared.money import Money
from budget_core.platform.http_api import current_principal, error_responses
from budget_core.platform.observability import metrics

if TYPE_CHECKING:  # the settle's domain (ingestion's counting) loads when the root builds it
    from budget_core.domain.checks.settlement import SettledReservation

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated


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

    @classmethod
    def of(cls, verdict: PolicyVerdict) -> CheckedPolicy:
        standing, policy = verdict.standing, verdict.policy
        return cls(
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
            policies=[CheckedPolicy.of(v) for v in result.verdicts],
            blocking_policy_ids=result.blocking_policy_ids,
            degraded=result.degraded,
            message=message,
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


@router.post(
    "/v1/budget/check",
    summary="May this call spend? (check_budget)",
    tags=["checks"],
    responses={
        200: {"description": "The decision", "content": {"application/json": {"model": CheckResponse}}},
        **error_responses(400, 403, 413, 415, 422),
    },
)
def check_budget(request: Annotated[CheckRequest, Body()]) -> Response[CheckResponse]:
    result = root().budget_guard.check(current_principal(router), request)
    metrics.add_metric(name=f"Checks_{result.decision.value}", unit="Count", value=1)
    return Response(200, content_types.APPLICATION_JSON, CheckResponse.of(result))


@router.post(
    "/v1/reservations",
    summary="Hold an amount on every hard-limit budget the call falls under, all or none",
    tags=["checks"],
    responses={
        201: {"description": "Held", "content": {"application/json": {"model": ReservationResponse}}},
        **error_responses(400, 403, 409, 413, 415, 422, 503),
    },
)
def create_reservation(
    request: Annotated[ReservationRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=255)] = None,
) -> Response[ReservationResponse]:
    reservation = root().budget_guard.reserve(current_principal(router), request, idempotency_key)
    headers = {"Location": f"/v1/reservations/{reservation.reservation_id}"}
    if reservation.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(201, content_types.APPLICATION_JSON, ReservationResponse.of(reservation), headers=headers)


@router.delete(
    "/v1/reservations/<reservation_id>",
    summary="Release a reservation (idempotent)",
    tags=["checks"],
    responses={204: {"description": "Released"}, **error_responses(403, 404, 422, 503)},
)
def release_reservation(reservation_id: Annotated[str, Path()]) -> Response[None]:
    root().budget_guard.release(current_principal(router), reservation_id)
    return Response(204)


class SettledResponse(BaseModel):
    reservation_id: str
    event_id: str
    cost_usd: Money | None  # null: the model is unpriced (counted as such, never as $0)
    unpriced: bool

    @classmethod
    def of(cls, settled: SettledReservation) -> SettledResponse:
        return cls(
            reservation_id=settled.reservation_id,
            event_id=settled.event_id,
            cost_usd=settled.cost_usd,
            unpriced=settled.unpriced,
        )


_settling_event = documented_usage_event(
    optional=("tenant_id", "event_id", "timestamp"),
    description=(
        "The call's usage event without tenant_id (the token's) or reservation_id (the path's);"
        " event_id defaults to one per reservation, timestamp to now"
    ),
)


@router.post(
    "/v1/reservations/<reservation_id>/settle",
    summary="Settle a reservation: count the call's actual usage and remove its hold, in one transaction",
    tags=["checks"],
    responses={
        200: {
            "description": "Settled (or settled before: the first result)",
            "content": {"application/json": {"model": SettledResponse}},
        },
        **error_responses(400, 403, 404, 413, 415, 422, 503),
    },
)
def settle_reservation(
    reservation_id: Annotated[str, Path()],
    event: Annotated[dict[str, Any], Body(json_schema_extra=_settling_event)],
) -> Response[SettledResponse]:
    settled = root().reservation_settler.settle(current_principal(router), reservation_id, event)
    metrics.add_metric(name="ReservationsSettled", unit="Count", value=1)
    return Response(200, content_types.APPLICATION_JSON, SettledResponse.of(settled))
