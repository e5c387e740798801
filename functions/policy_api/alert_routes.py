"""Routes of /v1/alerts: the alert history of the caller's tenant, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from api_bootstrap import root
from budget_core.domain.alerts.history import AlertQuery, AlertRecord
from budget_core.domain.policies.policy import POLICY_ID, Period, Scope
from budget_core.domain.shared.clock import as_utc
from budget_core.domain.shared.money import Money
from budget_core.platform.http_api import current_principal, error_responses, parse_moment
from budget_core.platform.settings import ApiSettings, settings_of

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated


class AlertView(BaseModel):
    """One alert as subscribers received it (docs/contracts.md, "Alert message"), and whether it
    was delivered."""

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


@router.get(
    "/v1/alerts",
    summary="Alert history, newest first",
    tags=["alerts"],
    responses={
        200: {"description": "A page of alerts", "content": {"application/json": {"model": AlertPage}}},
        **error_responses(400, 403, 422),
    },
)
def list_alerts(
    policy_id: Annotated[str | None, Query(pattern=POLICY_ID.pattern)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    next_token: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[AlertPage]:
    moment = parse_moment("since", since)
    query = AlertQuery(
        limit=limit or settings_of(ApiSettings).default_page_size,
        next_token=next_token,
        policy_id=policy_id,
        since=as_utc(moment) if moment is not None else None,
    )
    page = root().alert_history.list_alerts(current_principal(router), query)
    items = [AlertView.of(record) for record in page.items]
    return Response(200, content_types.APPLICATION_JSON, AlertPage(items=items, next_token=page.next_token))
