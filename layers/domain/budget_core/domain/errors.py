"""Domain errors. Each names what went wrong in the caller's terms; the HTTP mapping lives in
``budget_core.platform.http_errors`` and nowhere else."""

from __future__ import annotations

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


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class ConcurrentModification(DomainError):
    code = "concurrent_modification"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
