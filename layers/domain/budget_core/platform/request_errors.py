"""What is wrong with an HTTP request itself, before any domain rule reads it. They share the
domain errors' base so that ``http_errors`` maps every error in one place, but the domain never
raises them."""

from __future__ import annotations

from budget_core.domain.shared.errors import DomainError, InvalidRequest


class InvalidJson(InvalidRequest):
    code = "invalid_json"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
