"""Pieces every HTTP route shares: the gate before routing, ETags, documented error answers."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from budget_core.domain.shared.auth import Principal, principal_from_claims
from budget_core.domain.shared.errors import (
    DomainError,
    InvalidRequest,
    ValidationFailed,
)
from budget_core.platform.http_errors import ErrorResponse, GatewayMessage, proxy_error, proxy_internal_error
from budget_core.platform.observability import logger
from budget_core.platform.request_errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType
from budget_core.platform.settings import ApiSettings, settings_of

PRINCIPAL = "principal"
_ETAG = re.compile(r'^(?:W/)?(?:"([0-9]{1,18})"|([0-9]{1,18}))$')


def resolve_with_gate(
    app: APIGatewayHttpResolver,
    event: Mapping[str, Any],
    context: LambdaContext,
    before_routing: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Checks the caller and the body before routing.

    Powertools runs request validation before any middleware, so these checks sit in front of
    ``resolve``: a caller without a tenant or role gets 403, an oversized body 413, a body that is
    not JSON 415 or 400, all before a route sees it. The tenant comes from the claims the JWT
    authorizer verified, never from the path or body.

    ``before_routing`` gets the path Powertools will route on (the stage taken off) once the request
    passed the gate; if it raises, the caller gets the documented 500, as from a route.
    """
    settings = settings_of(ApiSettings)
    try:
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        claims = (authorizer.get("jwt") or {}).get("claims") or {}
        principal = principal_from_claims(claims, settings.tenant_claim, settings.roles_claim)
        event = _with_json_body(event, settings.max_body_bytes)
    except DomainError as error:
        return proxy_error(error)
    if before_routing is not None:
        try:
            before_routing(APIGatewayProxyEventV2(dict(event)).path)
        except Exception:
            logger.exception("the code of the route could not be loaded")
            return proxy_internal_error()
    app.append_context(**{PRINCIPAL: principal})
    return app.resolve(event, context)


def _with_json_body(event: Mapping[str, Any], max_bytes: int) -> Mapping[str, Any]:
    """The event with its body checked: at most ``max_bytes``, JSON, parseable, UTF-8 text.

    Powertools parses bodies with a bare ``json.loads`` and lets anything but JSONDecodeError
    through (deep nesting, huge integers, undecodable base64 bodies): all of those are a client's
    mistake and get their 4xx here instead.
    """
    raw = event.get("body")
    if raw is None or raw == "":
        return event
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"the request body is larger than {max_bytes} bytes", details=[{"field": "body"}]
        )
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json", details=[{"field": "Content-Type"}])
    encoded = bool(event.get("isBase64Encoded"))
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8") if encoded else raw
        json.loads(text)
    except (ValueError, RecursionError, UnicodeDecodeError, binascii.Error):
        raise InvalidJson("the request body is not valid JSON", details=[{"field": "body"}]) from None
    # Powertools matches the media type case-sensitively; hand it the canonical spelling.
    headers = {k: v for k, v in (event.get("headers") or {}).items() if str(k).lower() != "content-type"}
    headers["content-type"] = "application/json"
    return {**event, "headers": headers, "body": text, "isBase64Encoded": False}


def current_principal(router: BaseRouter) -> Principal:
    """The caller, as the gate read it from the verified claims (any router of the resolver)."""
    principal = router.context.get(PRINCIPAL)
    assert isinstance(principal, Principal), "resolve_with_gate did not run"
    return principal


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: 3``, ``"3"`` or ``W/"3"`` name version 3; ``*`` or no header means any version."""
    if value is None or value.strip() in ("", "*"):
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise InvalidRequest('If-Match must be a policy version such as "3"', details=[{"field": "If-Match"}])
    return int(match.group(1) or match.group(2))


def parse_moment(field: str, value: str | None) -> date | datetime | None:
    """A query parameter given as an ISO 8601 date or date-time; anything else is a 422 naming it."""
    if value is None:
        return None
    text = value.strip().replace(" ", "+")  # a '+' of an offset arrives as a space when not escaped
    try:
        moment = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO 8601 date or date-time",
            details=[{"field": field, "message": "not ISO 8601"}],
        ) from None
    # Far enough from the calendar's ends that converting to UTC and rounding to whole hours or
    # days can never overflow; no usage is older or newer than this.
    if not EARLIEST_MOMENT <= moment.year < LATEST_MOMENT:
        raise ValidationFailed(
            f"{field} must lie in the years {EARLIEST_MOMENT} to {LATEST_MOMENT - 1}",
            details=[{"field": field, "message": "out of range"}],
        )
    return moment


EARLIEST_MOMENT = 1970
LATEST_MOMENT = 9000


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
        415: "The body is not application/json",
        422: "A field is invalid; details name it",
        503: "A dependency is busy; retry",
    }
    documented: dict[int, OpenAPIResponse] = {
        # Every route sits behind the JWT authorizer, which answers this before the function runs.
        401: {
            "description": "The JWT authorizer refused the token (missing, expired, not signed by the "
            "issuer, or for another audience)",
            "content": {"application/json": {"model": GatewayMessage}},
        }
    }
    for status in statuses:
        documented[status] = {
            "description": descriptions[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return documented
