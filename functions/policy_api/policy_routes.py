"""Routes of /v1/policies: create, list, read, change and delete policies, their alert settings
(configure_alert) and their spend in the current period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import BaseModel

from api_bootstrap import root
from budget_core.domain.checks.status import PolicyStatusView
from budget_core.domain.policies.policy import (
    AlertSettings,
    Enforcement,
    NewPolicy,
    Period,
    Policy,
    PolicyPatch,
    PolicyStatus,
    ScopeType,
)
from budget_core.domain.policies.ports import PolicyQuery
from budget_core.domain.shared.money import Money
from budget_core.platform.http_api import current_principal, error_responses, etag, parse_if_match
from budget_core.platform.observability import metrics
from budget_core.platform.settings import ApiSettings, settings_of

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated

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


def _policy_response(
    status: int, policy: Policy, extra_headers: dict[str, str] | None = None
) -> Response[Policy]:
    headers = {"ETag": etag(policy.version), **(extra_headers or {})}
    return Response(status, content_types.APPLICATION_JSON, policy, headers=headers)


@router.post(
    "/v1/policies",
    summary="Create a budget policy",
    tags=["policies"],
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": Policy}}},
        **error_responses(400, 403, 409, 413, 422),
    },
)
def create_policy(new_policy: Annotated[NewPolicy, Body()]) -> Response[Policy]:
    policy = root().policy_service.create(current_principal(router), new_policy)
    root().tenant_configs.invalidate(policy.tenant_id)
    metrics.add_metric(name="PoliciesCreated", unit="Count", value=1)
    return _policy_response(201, policy, {"Location": f"/v1/policies/{policy.policy_id}"})


@router.get(
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
        limit=limit or settings_of(ApiSettings).default_page_size,
        next_token=next_token,
        scope_type=scope_type,
        scope_id=scope_id,
        status=status,
    )
    page = root().policy_service.list_policies(current_principal(router), query)
    return Response(
        200, content_types.APPLICATION_JSON, PolicyPage(items=page.items, next_token=page.next_token)
    )


@router.get(
    "/v1/policies/<policy_id>",
    summary="Read one policy",
    tags=["policies"],
    responses={
        200: {"description": "The policy", "content": {"application/json": {"model": Policy}}},
        **error_responses(403, 404, 422),
    },
)
def get_policy(policy_id: PolicyId) -> Response[Policy]:
    return _policy_response(200, root().policy_service.get(current_principal(router), policy_id))


@router.patch(
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
    policy = root().policy_service.update(
        current_principal(router), policy_id, patch, parse_if_match(if_match)
    )
    root().tenant_configs.invalidate(policy.tenant_id)
    return _policy_response(200, policy)


@router.delete(
    "/v1/policies/<policy_id>",
    summary="Delete a policy",
    tags=["policies"],
    responses={204: {"description": "Deleted"}, **error_responses(400, 403, 404, 409, 412, 422)},
)
def delete_policy(policy_id: PolicyId, if_match: IfMatch = None) -> Response[None]:
    principal = current_principal(router)
    root().policy_service.delete(principal, policy_id, parse_if_match(if_match))
    root().tenant_configs.invalidate(principal.tenant_id)
    return Response(204)


@router.put(
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
    policy = root().policy_service.configure_alert(
        current_principal(router), policy_id, settings, parse_if_match(if_match)
    )
    root().tenant_configs.invalidate(policy.tenant_id)
    return _policy_response(200, policy)


@router.get(
    "/v1/policies/<policy_id>/status",
    summary="Spend of a policy in its current period, with a forecast",
    tags=["policies"],
    responses={
        200: {"description": "Status", "content": {"application/json": {"model": StatusResponse}}},
        **error_responses(403, 404, 422),
    },
)
def policy_status(policy_id: PolicyId) -> Response[StatusResponse]:
    view = root().budget_status.status(current_principal(router), policy_id)
    return Response(200, content_types.APPLICATION_JSON, StatusResponse.of(view))
