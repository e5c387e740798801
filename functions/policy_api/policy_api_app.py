"""PolicyApiFunction: the Budget Service HTTP API (API Gateway HTTP API, payload 2.0).

Thin on purpose: each route parses, calls one domain service method and maps the result.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from budget_core.adapters.dynamodb_policy_repository import DynamoDBPolicyRepository
from budget_core.adapters.eventbridge_publisher import EventBridgePublisher
from budget_core.adapters.kinesis_usage_forwarder import KinesisUsageForwarder
from budget_core.domain.auth import Action
from budget_core.domain.clock import SystemClock
from budget_core.domain.policy import NewPolicy, Policy, PolicyPatch, PolicyStatus, ScopeType
from budget_core.domain.policy_service import PolicyService
from budget_core.domain.ports import PolicyQuery
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
app.configure_openapi(
    title="Budget Service API",
    version="1.0.0",
    description="Budgets for LLM and image-generation spend. Every route needs a bearer JWT whose "
    "claims carry the tenant and the roles (admin, viewer, service).",
    security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
    security=[{"jwt": []}],
)
register_error_handlers(app)

PolicyId = Annotated[str, Path(description="The policy's id, as returned on creation")]
IfMatch = Annotated[
    str | None, Header(alias="if-match", description="The policy version the change is based on")
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
def usage_submission() -> UsageSubmission:
    stream = get_settings().usage_stream_name
    if stream is None:
        raise RuntimeError("USAGE_STREAM_NAME is not set")
    return UsageSubmission(KinesisUsageForwarder(boto3.client("kinesis"), stream), SystemClock().now)


@lru_cache(maxsize=1)
def policy_service() -> PolicyService:
    settings = get_settings()
    return PolicyService(
        repository=DynamoDBPolicyRepository(boto3.client("dynamodb"), settings.table_name),
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
    return _policy_response(200, policy)


@app.delete(
    "/v1/policies/<policy_id>",
    summary="Delete a policy",
    tags=["policies"],
    responses={204: {"description": "Deleted"}, **error_responses(400, 403, 404, 409, 412, 422)},
)
def delete_policy(policy_id: PolicyId, if_match: IfMatch = None) -> Response[None]:
    policy_service().delete(current_principal(app), policy_id, parse_if_match(if_match))
    return Response(204)


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


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    current_principal(app).require(Action.READ_API_DOCS)
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_with_gate(app, event, context)
