"""Domain errors. Each names what went wrong in the caller's terms; the HTTP mapping lives in
``budget_core.platform.http_errors`` and nowhere else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DomainError(Exception):
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    code = "domain_error"

    def __str__(self) -> str:
        return self.message


class InvalidRequest(DomainError):
    code = "invalid_request"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


@dataclass
class PolicyConflict(DomainError):
    existing_policy_id: str = ""

    code = "policy_conflict"


@dataclass
class PriceOverrideConflict(DomainError):
    existing_model: str = ""

    code = "price_override_conflict"


class TooManyOverlappingPolicies(DomainError):
    """After the write, one event could fall under more budgets than one commit can count."""

    code = "too_many_overlapping_policies"


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class ConcurrentModification(DomainError):
    code = "concurrent_modification"


class ValidationFailed(DomainError):
    """A value breaks a rule that only shows once the request is combined with stored state."""

    code = "validation_failed"


class BudgetExceeded(DomainError):
    """A hold would take a hard-limit budget past its limit."""

    code = "budget_exceeded"


class IdempotencyKeyReused(DomainError):
    """An idempotency key came back with a different request."""

    code = "idempotency_key_reused"


class StoreUnavailable(DomainError):
    """A store or queue the service depends on is throttling, timing out or busy: the same work may
    succeed in a moment. Adapters raise it for every such answer; the API answers 503 with
    ``Retry-After``, the stream functions hand the records back to be retried."""

    code = "service_unavailable"


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors as ``{field, message, type}`` entries, without echoing the input back."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        details.append({"field": ".".join(location) or None, "message": message, "type": error.get("type")})
    return details
