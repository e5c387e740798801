"""Routes of /v1/usage: usage recorded over HTTP (record_usage), summaries and spend trends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from usage_event_schema import documented_usage_event

from api_bootstrap import root
from budget_core.domain.shared.errors import ValidationFailed, validation_details
from budget_core.domain.shared.money import Money
from budget_core.domain.usage.quantities import COUNTED_NAMES
from budget_core.domain.usage.queries import Spend, Summary, Trend, TrendGranularity, UsageQuery
from budget_core.domain.usage.submission import MAX_EVENTS_PER_REQUEST
from budget_core.platform.http_api import current_principal, error_responses, parse_moment
from budget_core.platform.observability import metrics

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated

UsageScope = Annotated[str | None, Query(max_length=128)]
Moment = Annotated[str | None, Query(max_length=40)]
CACHE_CONTROL = {"Cache-Control": "private, max-age=30"}


_usage_event_schema = documented_usage_event(
    optional=("tenant_id",),
    description="A usage event v1 (v1.1 keys included); tenant_id is always the token's",
)


class UsageBatch(BaseModel):
    """Usage events v1 (docs/contracts.md); ``tenant_id`` may be left out, it is always the token's."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[
        list[Annotated[dict[str, Any], Field(json_schema_extra=_usage_event_schema)]],
        Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST),
    ]


class UsageFailure(BaseModel):
    index: int
    event_id: str | None
    code: str
    message: str


class UsageAccepted(BaseModel):
    accepted: int
    failed: list[UsageFailure]


class SpendView(BaseModel):
    # null for an entry made only of unpriced events: nothing is known of its cost, it is not $0
    cost_usd: Money | None
    events: int
    unpriced_events: int

    @classmethod
    def of(cls, spend: Spend) -> SpendView:
        known = not spend.events or spend.unpriced_events < spend.events
        return cls(
            cost_usd=spend.cost_usd if known else None,
            events=spend.events,
            unpriced_events=spend.unpriced_events,
        )


class SummaryResponse(BaseModel):
    model_config = ConfigDict(ser_json_timedelta="iso8601")

    start: datetime
    end: datetime
    cost_usd: Money
    events: int
    unpriced_events: int
    # the counted quantities (usage.quantities.COUNTED; a test holds these fields to it)
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
            return {name: SpendView.of(spend) for name, spend in sorted(part.items())}

        return cls(
            start=summary.start,
            end=summary.end,
            cost_usd=t.cost_usd,
            events=t.events,
            unpriced_events=t.unpriced_events,
            **{name: getattr(t, name) for name in COUNTED_NAMES},
            by_provider=views(summary.by_provider),
            by_model=views(summary.by_model),
            by_operation=views(summary.by_operation),
        )


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


@router.post(
    "/v1/usage",
    summary="Record usage events (up to 500); they are counted asynchronously, exactly once",
    tags=["usage"],
    responses={
        202: {
            "description": "Accepted for counting",
            "content": {"application/json": {"model": UsageAccepted}},
        },
        **error_responses(400, 403, 413, 415, 422),
    },
)
def record_usage(batch: Annotated[UsageBatch, Body()]) -> Response[UsageAccepted]:
    result = root().usage_submission.submit(current_principal(router), batch.events)
    failed = [
        UsageFailure(index=f.index, event_id=_event_id(batch.events[f.index]), code=f.code, message=f.message)
        for f in result.failed
    ]
    metrics.add_metric(name="UsageEventsAccepted", unit="Count", value=result.accepted)
    return Response(
        202, content_types.APPLICATION_JSON, UsageAccepted(accepted=result.accepted, failed=failed)
    )


def _event_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("event_id")
    return value if isinstance(value, str) else None


def _usage_query(start: str | None, end: str | None, scope: dict[str, str | None]) -> UsageQuery:
    try:
        first, last = parse_moment("start", start), parse_moment("end", end)
        return UsageQuery.parse(first, last, root().clock.now(), **scope)
    except ValidationError as error:
        raise ValidationFailed("invalid usage query", details=validation_details(error.errors())) from None


@router.get(
    "/v1/usage/summary",
    summary="Spend totals and by provider, model and operation",
    tags=["usage"],
    responses={
        200: {"description": "Summary", "content": {"application/json": {"model": SummaryResponse}}},
        **error_responses(403, 422),
    },
)
def usage_summary(
    start: Moment = None,
    end: Moment = None,
    user_id: UsageScope = None,
    team_id: UsageScope = None,
    api_key_id: UsageScope = None,
    project_id: UsageScope = None,
) -> Response[SummaryResponse]:
    query = _usage_query(
        start,
        end,
        {"user_id": user_id, "team_id": team_id, "api_key_id": api_key_id, "project_id": project_id},
    )
    summary = root().usage_queries.summary(current_principal(router), query)
    return Response(200, content_types.APPLICATION_JSON, SummaryResponse.of(summary), headers=CACHE_CONTROL)


@router.get(
    "/v1/usage/trend",
    summary="Spend per day or hour",
    tags=["usage"],
    responses={
        200: {"description": "Trend", "content": {"application/json": {"model": TrendResponse}}},
        **error_responses(403, 422),
    },
)
def usage_trend(
    start: Moment = None,
    end: Moment = None,
    granularity: Annotated[TrendGranularity, Query()] = TrendGranularity.DAY,
    user_id: UsageScope = None,
    team_id: UsageScope = None,
    api_key_id: UsageScope = None,
    project_id: UsageScope = None,
) -> Response[TrendResponse]:
    query = _usage_query(
        start,
        end,
        {"user_id": user_id, "team_id": team_id, "api_key_id": api_key_id, "project_id": project_id},
    )
    trend = root().usage_queries.trend(current_principal(router), query, granularity)
    return Response(200, content_types.APPLICATION_JSON, TrendResponse.of(trend), headers=CACHE_CONTROL)
