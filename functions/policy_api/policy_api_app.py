"""PolicyApiFunction: the Budget Service HTTP API (API Gateway HTTP API, payload 2.0).

Thin on purpose: each route parses, calls one domain service method and maps the result.
"""

from __future__ import annotations

import gc

# Init allocates many long-lived objects (modules, models, validators): collecting while it runs only
# costs cold-start time. Collection is back on, with those objects frozen, at the end of the module.
gc.disable()

import json
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api_models import (
    AlertPage,
    AlertView,
    CheckResponse,
    ReservationResponse,
    StatusResponse,
    SummaryResponse,
    TrendResponse,
)
from budget_core.adapters.dynamodb_alert_history import DynamoDBAlertHistory
from budget_core.adapters.dynamodb_budget_store import DynamoDBCounterReader, DynamoDBReservationStore
from budget_core.adapters.dynamodb_policy_repository import DynamoDBPolicyRepository
from budget_core.adapters.dynamodb_rollup_reader import DynamoDBRollupReader
from budget_core.adapters.dynamodb_tenant_config import DynamoDBTenantConfigSource
from budget_core.adapters.eventbridge_publisher import EventBridgePublisher
from budget_core.adapters.kinesis_usage_forwarder import KinesisUsageForwarder
from budget_core.domain.alert_history import AlertHistory, AlertQuery
from budget_core.domain.auth import Action
from budget_core.domain.budget_checks import BudgetGuard, CheckRequest, ReservationRequest
from budget_core.domain.budget_status import BudgetStatus
from budget_core.domain.clock import SystemClock
from budget_core.domain.errors import ValidationFailed, validation_details
from budget_core.domain.policy import (
    POLICY_ID,
    AlertSettings,
    NewPolicy,
    Policy,
    PolicyPatch,
    PolicyStatus,
    ScopeType,
)
from budget_core.domain.policy_service import PolicyService
from budget_core.domain.ports import PolicyQuery
from budget_core.domain.pricing.pricer import Pricer
from budget_core.domain.tenant_config_cache import CachedTenantConfig
from budget_core.domain.usage_queries import TrendGranularity, UsageQueries, UsageQuery, as_utc
from budget_core.domain.usage_submission import MAX_EVENTS_PER_REQUEST, UsageSubmission
from budget_core.platform.http_api import (
    current_principal,
    error_responses,
    etag,
    parse_if_match,
    resolve_with_gate,
)
from budget_core.platform.http_errors import register_error_handlers
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import get_settings

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

PolicyId = Annotated[str, Path(description="The policy's id, as returned on creation")]
IfMatch = Annotated[
    str | None,
    Header(
        alias="if-match",
        description='The policy version the change is based on, as its ETag gives it ("3")',
    ),
]


class PolicyPage(BaseModel):
    items: list[Policy]
    next_token: str | None


class UsageBatch(BaseModel):
    """Usage events v1 (DESIGN); ``tenant_id`` may be left out, it is always the token's."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]


class UsageFailure(BaseModel):
    index: int
    event_id: str | None
    code: str
    message: str


class UsageAccepted(BaseModel):
    accepted: int
    failed: list[UsageFailure]


@lru_cache(maxsize=1)
def tenant_configs() -> CachedTenantConfig:
    settings = get_settings()
    source = DynamoDBTenantConfigSource(dynamodb(), settings.table_name)
    return CachedTenantConfig(source, settings.tenant_config_ttl_seconds)


@lru_cache(maxsize=1)
def dynamodb() -> Any:
    return boto3.client("dynamodb")


@lru_cache(maxsize=1)
def budget_guard() -> BudgetGuard:
    settings = get_settings()
    configs = tenant_configs()
    return BudgetGuard(
        configs=configs,
        counters=DynamoDBCounterReader(dynamodb(), settings.table_name),
        store=DynamoDBReservationStore(dynamodb(), settings.table_name),
        pricer=Pricer(),
        now=SystemClock().now,
        invalidate=configs.invalidate,
    )


@lru_cache(maxsize=1)
def budget_status() -> BudgetStatus:
    settings = get_settings()
    return BudgetStatus(
        DynamoDBPolicyRepository(dynamodb(), settings.table_name),
        DynamoDBCounterReader(dynamodb(), settings.table_name),
        SystemClock().now,
    )


@lru_cache(maxsize=1)
def usage_queries() -> UsageQueries:
    return UsageQueries(DynamoDBRollupReader(dynamodb(), get_settings().table_name))


@lru_cache(maxsize=1)
def usage_submission() -> UsageSubmission:
    stream = get_settings().usage_stream_name
    if stream is None:
        raise RuntimeError("USAGE_STREAM_NAME is not set")
    return UsageSubmission(KinesisUsageForwarder(boto3.client("kinesis"), stream), SystemClock().now)


@lru_cache(maxsize=1)
def alert_history() -> AlertHistory:
    return AlertHistory(DynamoDBAlertHistory(dynamodb(), get_settings().table_name))


@lru_cache(maxsize=1)
def policy_service() -> PolicyService:
    settings = get_settings()
    return PolicyService(
        repository=DynamoDBPolicyRepository(dynamodb(), settings.table_name),
        publisher=EventBridgePublisher(boto3.client("events"), settings.event_bus_name),
        clock=SystemClock(),
    )


def _policy_response(
    status: int, policy: Policy, extra_headers: dict[str, str] | None = None
) -> Response[Policy]:
    headers = {"ETag": etag(policy.version), **(extra_headers or {})}
    return Response(status, content_types.APPLICATION_JSON, policy, headers=headers)


@app.post(
    "/v1/policies",
    summary="Create a budget policy",
    tags=["policies"],
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": Policy}}},
        **error_responses(400, 403, 409, 413, 422),
    },
)
def create_policy(new_policy: Annotated[NewPolicy, Body()]) -> Response[Policy]:
    policy = policy_service().create(current_principal(app), new_policy)
    tenant_configs().invalidate(policy.tenant_id)
    metrics.add_metric(name="PoliciesCreated", unit="Count", value=1)
    return _policy_response(201, policy, {"Location": f"/v1/policies/{policy.policy_id}"})


@app.get(
    "/v1/policies",
    summary="List the tenant's policies",
    tags=["policies"],
    responses={
        200: {"description": "A page of policies", "content": {"application/json": {"model": PolicyPage}}},
        **error_responses(400, 403, 422),
    },
)
def list_policies(
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    next_token: Annotated[str | None, Query(max_length=1024)] = None,
    scope_type: Annotated[ScopeType | None, Query()] = None,
    scope_id: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[PolicyStatus | None, Query()] = None,
) -> Response[PolicyPage]:
    query = PolicyQuery(
        limit=limit or get_settings().default_page_size,
        next_token=next_token,
        scope_type=scope_type,
        scope_id=scope_id,
        status=status,
    )
    page = policy_service().list_policies(current_principal(app), query)
    return Response(
        200, content_types.APPLICATION_JSON, PolicyPage(items=page.items, next_token=page.next_token)
    )


@app.get(
    "/v1/policies/<policy_id>",
    summary="Read one policy",
    tags=["policies"],
    responses={
        200: {"description": "The policy", "content": {"application/json": {"model": Policy}}},
        **error_responses(403, 404, 422),
    },
)
def get_policy(policy_id: PolicyId) -> Response[Policy]:
    return _policy_response(200, policy_service().get(current_principal(app), policy_id))


@app.patch(
    "/v1/policies/<policy_id>",
    summary="Change a policy",
    tags=["policies"],
    responses={
        200: {"description": "The changed policy", "content": {"application/json": {"model": Policy}}},
        **error_responses(400, 403, 404, 409, 412, 413, 422),
    },
)
def patch_policy(
    policy_id: PolicyId, patch: Annotated[PolicyPatch, Body()], if_match: IfMatch = None
) -> Response[Policy]:
    policy = policy_service().update(current_principal(app), policy_id, patch, parse_if_match(if_match))
    tenant_configs().invalidate(policy.tenant_id)
    return _policy_response(200, policy)


@app.delete(
    "/v1/policies/<policy_id>",
    summary="Delete a policy",
    tags=["policies"],
    responses={204: {"description": "Deleted"}, **error_responses(400, 403, 404, 409, 412, 422)},
)
def delete_policy(policy_id: PolicyId, if_match: IfMatch = None) -> Response[None]:
    principal = current_principal(app)
    policy_service().delete(principal, policy_id, parse_if_match(if_match))
    tenant_configs().invalidate(principal.tenant_id)
    return Response(204)


@app.put(
    "/v1/policies/<policy_id>/alerts",
    summary="Set a policy's alert thresholds and forecast alerts (configure_alert)",
    tags=["alerts"],
    responses={
        200: {"description": "The changed policy", "content": {"application/json": {"model": Policy}}},
        **error_responses(400, 403, 404, 409, 412, 413, 422),
    },
)
def configure_alert(
    policy_id: PolicyId, settings: Annotated[AlertSettings, Body()], if_match: IfMatch = None
) -> Response[Policy]:
    policy = policy_service().configure_alert(
        current_principal(app), policy_id, settings, parse_if_match(if_match)
    )
    tenant_configs().invalidate(policy.tenant_id)
    return _policy_response(200, policy)


@app.get(
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
    moment = _moment("since", since)
    query = AlertQuery(
        limit=limit or get_settings().default_page_size,
        next_token=next_token,
        policy_id=policy_id,
        since=as_utc(moment) if moment is not None else None,
    )
    page = alert_history().list_alerts(current_principal(app), query)
    return _json(200, AlertPage(items=[AlertView.of(r) for r in page.items], next_token=page.next_token))


@app.post(
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
    result = usage_submission().submit(current_principal(app), batch.events)
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


def _json(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, model, headers=headers)


@app.get(
    "/v1/policies/<policy_id>/status",
    summary="Spend of a policy in its current period, with a forecast",
    tags=["policies"],
    responses={
        200: {"description": "Status", "content": {"application/json": {"model": StatusResponse}}},
        **error_responses(403, 404, 422),
    },
)
def policy_status(policy_id: PolicyId) -> Response[StatusResponse]:
    return _json(200, StatusResponse.of(budget_status().status(current_principal(app), policy_id)))


@app.post(
    "/v1/budget/check",
    summary="May this call spend? (check_budget)",
    tags=["checks"],
    responses={
        200: {"description": "The decision", "content": {"application/json": {"model": CheckResponse}}},
        **error_responses(400, 403, 413, 415, 422),
    },
)
def check_budget(request: Annotated[CheckRequest, Body()]) -> Response[CheckResponse]:
    result = budget_guard().check(current_principal(app), request)
    metrics.add_metric(name=f"Checks_{result.decision.value}", unit="Count", value=1)
    return _json(200, CheckResponse.of(result))


@app.post(
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
    reservation = budget_guard().reserve(current_principal(app), request, idempotency_key)
    headers = {"Location": f"/v1/reservations/{reservation.reservation_id}"}
    if reservation.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(201, ReservationResponse.of(reservation), headers)


@app.delete(
    "/v1/reservations/<reservation_id>",
    summary="Release a reservation (idempotent)",
    tags=["checks"],
    responses={204: {"description": "Released"}, **error_responses(403, 404, 422, 503)},
)
def release_reservation(reservation_id: Annotated[str, Path()]) -> Response[None]:
    budget_guard().release(current_principal(app), reservation_id)
    return Response(204)


def _usage_query(start: str | None, end: str | None, scope: dict[str, str | None]) -> UsageQuery:
    try:
        return UsageQuery.parse(_moment("start", start), _moment("end", end), SystemClock().now(), **scope)
    except ValidationError as error:
        raise ValidationFailed("invalid usage query", details=validation_details(error.errors())) from None


def _moment(field: str, value: str | None) -> date | datetime | None:
    if value is None:
        return None
    text = value.strip().replace(" ", "+")  # a '+' of an offset arrives as a space when not escaped
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO 8601 date or date-time",
            details=[{"field": field, "message": "not ISO 8601"}],
        ) from None


UsageScope = Annotated[str | None, Query(max_length=128)]
CACHE_CONTROL = {"Cache-Control": "private, max-age=30"}


@app.get(
    "/v1/usage/summary",
    summary="Spend totals and by provider, model and operation",
    tags=["usage"],
    responses={
        200: {"description": "Summary", "content": {"application/json": {"model": SummaryResponse}}},
        **error_responses(403, 422),
    },
)
def usage_summary(
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
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
    summary = usage_queries().summary(current_principal(app), query)
    return _json(200, SummaryResponse.of(summary), CACHE_CONTROL)


@app.get(
    "/v1/usage/trend",
    summary="Spend per day or hour",
    tags=["usage"],
    responses={
        200: {"description": "Trend", "content": {"application/json": {"model": TrendResponse}}},
        **error_responses(403, 422),
    },
)
def usage_trend(
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
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
    trend = usage_queries().trend(current_principal(app), query, granularity)
    return _json(200, TrendResponse.of(trend), CACHE_CONTROL)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    current_principal(app).require(Action.READ_API_DOCS)
    return Response(200, content_types.APPLICATION_JSON, _openapi_text())


@lru_cache(maxsize=1)
def _openapi_text() -> str:
    """Powertools documents a body for ``Response[None]``; a 204 has none, so it is taken out.
    Configured here, not at import: the OpenAPI models cost ~140 ms that no other route needs."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    app.configure_openapi(
        title="Budget Service API",
        version="1.0.0",
        description="Budgets for LLM and image-generation spend. Every route needs a bearer JWT whose "
        "claims carry the tenant and the roles (admin, viewer, service).",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"jwt": []}],
    )
    document = json.loads(app.get_openapi_json_schema())
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            no_content = operation.get("responses", {}).get("204")
            if isinstance(no_content, dict):
                no_content.pop("content", None)
    return json.dumps(document, separators=(",", ":"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_with_gate(app, event, context)


gc.freeze()
gc.enable()
