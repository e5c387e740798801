"""Pieces every HTTP route shares: the gate before routing, ETags, documented error answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from budget_core.domain.auth import Principal, principal_from_claims
from budget_core.domain.errors import DomainError, InvalidRequest, PayloadTooLarge
from budget_core.platform.http_errors import ErrorResponse, proxy_error
from budget_core.platform.settings import get_settings

PRINCIPAL = "principal"
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def resolve_with_gate(
    app: APIGatewayHttpResolver, event: Mapping[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """Checks the caller and the body size before routing.

    Powertools runs request validation before any middleware, so these checks sit in front of
    ``resolve``: a caller without a tenant or role gets 403 and an oversized body 413 before a
    byte of it is parsed. The tenant comes from the claims the JWT authorizer verified, never
    from the path or body.
    """
    settings = get_settings()
    try:
        body = event.get("body") or ""
        if len(body) > settings.max_body_bytes:
            raise PayloadTooLarge(
                f"the request body is larger than {settings.max_body_bytes} bytes",
                details=[{"field": "body"}],
            )
        claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get(
            "claims"
        ) or {}
        principal = principal_from_claims(claims, settings.tenant_claim, settings.roles_claim)
    except DomainError as error:
        return proxy_error(error)
    app.append_context(**{PRINCIPAL: principal})
    return app.resolve(event, context)


def current_principal(app: APIGatewayHttpResolver) -> Principal:
    principal = app.context.get(PRINCIPAL)
    assert isinstance(principal, Principal), "resolve_with_gate did not run"
    return principal


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: 3``, ``"3"`` or ``W/"3"`` name version 3; ``*`` or no header means any version."""
    if value is None or value.strip() in ("", "*"):
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidRequest('If-Match must be a policy version such as "3"', details=[{"field": "If-Match"}])
    return int(match.group(1))


def etag(version: int) -> str:
    return f'"{version}"'


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
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
