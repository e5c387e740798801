"""Settings read once from the environment at cold start, one validated model per function.

Each function's module loads its model during init, so a deployment missing a variable fails at
once, naming it, instead of on the first request that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class MissingSettings(RuntimeError):
    """The environment lacks (or has an invalid) variable the function cannot run without."""


class CommonSettings(BaseModel):
    """What every function reads."""

    # Built on first use: each function validates only its own model (at init), so the validators of
    # the other functions' models are never built in its cold start.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)
    function: ClassVar[str] = "a function"
    variables: ClassVar[dict[str, str]] = {"table_name": "TABLE_NAME"}

    table_name: str = Field(min_length=3)

    @classmethod
    def from_environ(cls: type[S], environ: Mapping[str, str]) -> S:
        names = {field: variable for base in reversed(cls.__mro__) for field, variable in _own(base).items()}
        try:
            return cls.model_validate({f: environ[v] for f, v in names.items() if environ.get(v)})
        except ValidationError as error:
            wrong = sorted(
                {names.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors() if e["loc"]}
            )
            raise MissingSettings(
                f"{cls.function} cannot start: set {', '.join(wrong)} ({error.error_count()} problem(s))"
            ) from None


def _own(cls: type) -> dict[str, str]:
    return dict(vars(cls).get("variables", {}))


S = TypeVar("S", bound=CommonSettings)


class ApiSettings(CommonSettings):
    function: ClassVar[str] = "PolicyApiFunction"
    variables: ClassVar[dict[str, str]] = {
        "event_bus_name": "EVENT_BUS_NAME",
        "usage_stream_name": "USAGE_STREAM_NAME",
        "tenant_claim": "TENANT_CLAIM",
        "roles_claim": "ROLES_CLAIM",
        "max_body_bytes": "MAX_BODY_BYTES",
        "default_page_size": "DEFAULT_PAGE_SIZE",
        "tenant_config_ttl_seconds": "TENANT_CONFIG_TTL_SECONDS",
        "usage_retention_days": "USAGE_RETENTION_DAYS",
    }

    event_bus_name: str = Field(min_length=1)
    usage_stream_name: str = Field(min_length=1)
    tenant_claim: str = "tenant_id"
    roles_claim: str = "roles"
    max_body_bytes: int = Field(default=262_144, ge=1024)
    default_page_size: int = Field(default=50, ge=1, le=100)
    tenant_config_ttl_seconds: float = Field(default=15, ge=0, le=300)
    usage_retention_days: int = Field(default=90, ge=36, le=3650)  # of a usage event a settle counts


class IngestSettings(CommonSettings):
    function: ClassVar[str] = "UsageIngestFunction"
    variables: ClassVar[dict[str, str]] = {
        "usage_dead_letter_queue_url": "USAGE_DLQ_URL",
        "usage_retention_days": "USAGE_RETENTION_DAYS",
        "tenant_config_ttl_seconds": "TENANT_CONFIG_TTL_SECONDS",
    }

    usage_dead_letter_queue_url: str = Field(min_length=1)  # rejected records need somewhere to go
    # Event records must outlive the 35 days within which a duplicate can still arrive (invariant 1).
    usage_retention_days: int = Field(default=90, ge=36, le=3650)
    tenant_config_ttl_seconds: float = Field(default=15, ge=0, le=300)


class AlertDeliverySettings(CommonSettings):
    """What delivering an alert needs: AlertRedeliveryFunction's settings, and AlertFunction's."""

    function: ClassVar[str] = "AlertRedeliveryFunction"
    variables: ClassVar[dict[str, str]] = {
        "event_bus_name": "EVENT_BUS_NAME",
        "alert_topic_arn": "ALERT_TOPIC_ARN",
        "alert_retention_days": "ALERT_RETENTION_DAYS",
        "forecast_min_elapsed_percent": "FORECAST_MIN_ELAPSED_PERCENT",
        "forecast_min_spent_percent": "FORECAST_MIN_SPENT_PERCENT",
    }

    event_bus_name: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    # Alert claims outlive their period by this much: the history and the once-only guard.
    alert_retention_days: int = Field(default=400, ge=1, le=3650)
    forecast_min_elapsed_percent: int = Field(default=10, ge=1, le=100)
    forecast_min_spent_percent: int = Field(default=10, ge=0, le=100)


class AlertSettings(AlertDeliverySettings):
    function: ClassVar[str] = "AlertFunction"
    variables: ClassVar[dict[str, str]] = {"alert_dead_letter_queue_url": "ALERT_DLQ_URL"}

    alert_dead_letter_queue_url: str = Field(min_length=1)  # unreadable counter records go there


_LOADED: dict[type[CommonSettings], CommonSettings] = {}


def settings_of(kind: type[S]) -> S:
    """The function's settings, read from the environment once."""
    found = _LOADED.get(kind)
    if found is None:
        found = _LOADED[kind] = kind.from_environ(os.environ)
    return cast(S, found)


def forget_settings() -> None:
    """Read the environment again on next use (tests that change it)."""
    _LOADED.clear()
