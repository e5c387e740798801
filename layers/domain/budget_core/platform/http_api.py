"""Pieces every HTTP route shares: the principal from JWT claims, body limits, ETags, responses."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from budget_core.domain.auth import Principal, principal_from_claims
from budget_core.domain.errors import InvalidRequest, PayloadTooLarge
from budget_core.platform.http_errors import ErrorResponse
from budget_core.platform.settings import get_settings

PRINCIPAL = "principal"
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Reads the claims the JWT authorizer verified; the tenant never comes from path or body."""
    settings = get_settings()
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    app.append_context(**{PRINCIPAL: principal_from_claims(claims, settings.tenant_claim, settings.roles_claim)})
    return next_middleware(app)


def limit_body_size(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    body = app.current_event.body or ""
    limit = get_settings().max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes", details=[{"field": "body"}])
    return next_middleware(app)


def current_principal(app: APIGatewayHttpResolver) -> Principal:
    principal = app.context.get(PRINCIPAL)
    assert isinstance(principal, Principal), "authenticate middleware did not run"
    return principal


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: 3``, ``"3"`` or ``W/"3"`` name version 3; ``*`` or no header means any version."""
    if value is None or value.strip() in ("", "*"):
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidRequest("If-Match must be a policy version such as \"3\"", details=[{"field": "If-Match"}])
    return int(match.group(1))


def etag(version: int) -> str:
    return f'"{version}"'


def error_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """OpenAPI entries for the error answers a route documents."""
    descriptions = {
        400: "Malformed request (not JSON, bad header or token)",
        403: "The token has no tenant, or lacks the role this route needs",
        404: "No such resource in the caller's tenant",
        409: "Conflict with the current state",
        412: "If-Match names a version that is no longer current",
        413: "Request body too large",
        422: "A field is invalid; details name it",
        503: "A dependency is busy; retry",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for status in statuses
    }
