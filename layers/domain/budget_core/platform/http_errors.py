"""The one place that turns errors into HTTP answers: ``{"error": {code, message, details}}``.

No stack trace and no internal text ever reaches a client; anything a client sent that is wrong
is a 4xx naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from budget_core.domain.shared.errors import (
    BudgetExceeded,
    ConcurrentModification,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    PolicyConflict,
    PreconditionFailed,
    PriceOverrideConflict,
    StoreUnavailable,
    TooManyOverlappingPolicies,
    Unauthenticated,
    ValidationFailed,
    validation_details,
)
from budget_core.platform.observability import logger
from budget_core.platform.request_errors import PayloadTooLarge, UnsupportedMediaType

_STATUS: dict[type[DomainError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    PolicyConflict: 409,
    PriceOverrideConflict: 409,
    TooManyOverlappingPolicies: 409,
    ConcurrentModification: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    ValidationFailed: 422,
    StoreUnavailable: 503,
    BudgetExceeded: 409,
    IdempotencyKeyReused: 422,
}


INTERNAL_ERROR = ("internal_error", "the request failed on our side")  # never more: no internals leak


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str | None = None
    type: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


class GatewayMessage(BaseModel):
    """What API Gateway itself answers (its JWT authorizer's 401, for one), before any function."""

    message: str


def error_json(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> str:
    body = {"error": {"code": code, "message": message, "details": list(details)}}
    return json.dumps(body, separators=(",", ":"))


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_json(code, message, details),
        headers=headers,
    )


def domain_error_parts(error: DomainError) -> tuple[int, str]:
    """Status and body of the answer to ``error``."""
    if isinstance(error, StoreUnavailable):
        # what was busy is for the logs; the caller learns only when to come back
        logger.warning("a dependency is unavailable", extra={"unavailable": error.message})
        return 503, error_json(error.code, "the service is busy; retry shortly")
    details = list(error.details)
    if isinstance(error, PolicyConflict) and not details:
        details = [{"existing_policy_id": error.existing_policy_id}]
    if isinstance(error, PriceOverrideConflict) and not details:
        details = [{"field": "model", "existing_model": error.existing_model}]
    return status_for(error), error_json(error.code, error.message, details)


def _retry_after(error: DomainError) -> dict[str, str]:
    return {"Retry-After": "1"} if isinstance(error, StoreUnavailable) else {}


def proxy_error(error: DomainError) -> dict[str, Any]:
    """The API Gateway proxy result for ``error``, for checks made before routing."""
    status, body = domain_error_parts(error)
    return _proxy_result(status, body, _retry_after(error))


def proxy_internal_error() -> dict[str, Any]:
    """The API Gateway proxy result of a failure on our side before routing (the logs say what)."""
    return _proxy_result(500, error_json(*INTERNAL_ERROR), {})


def _proxy_result(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **headers},
        "body": body,
        "isBase64Encoded": False,
        "cookies": [],
    }


def status_for(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 400


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response[str]:
        status, body = domain_error_parts(error)
        return Response(status, content_types.APPLICATION_JSON, body, headers=_retry_after(error))

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        details = validation_details(errors)
        fields = ", ".join(sorted({d["field"] for d in details if d["field"]})) or "the request"
        return error_response(422, "validation_failed", f"invalid value for {fields}", details)

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return error_response(404, "route_not_found", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, *INTERNAL_ERROR)
