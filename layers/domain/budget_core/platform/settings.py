"""Settings read once from the environment at cold start into a validated model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(min_length=3)
    event_bus_name: str = Field(min_length=1)
    tenant_claim: str = "tenant_id"
    roles_claim: str = "roles"
    max_body_bytes: int = Field(default=262_144, ge=1024)
    default_page_size: int = Field(default=50, ge=1, le=100)
    usage_dead_letter_queue_url: str | None = None
    usage_stream_name: str | None = None
    # Event records must outlive the 35 days within which a duplicate can still arrive (invariant 1).
    usage_retention_days: int = Field(default=90, ge=36, le=3650)
    tenant_config_ttl_seconds: float = Field(default=15, ge=0, le=300)
    alert_topic_arn: str | None = None
    alert_dead_letter_queue_url: str | None = None
    # Alert claims outlive their period by this much: the history and the once-only guard.
    alert_retention_days: int = Field(default=400, ge=1, le=3650)
    forecast_min_elapsed_percent: int = Field(default=10, ge=1, le=100)
    forecast_min_spent_percent: int = Field(default=10, ge=0, le=100)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        fields = {
            "table_name": "TABLE_NAME",
            "event_bus_name": "EVENT_BUS_NAME",
            "tenant_claim": "TENANT_CLAIM",
            "roles_claim": "ROLES_CLAIM",
            "max_body_bytes": "MAX_BODY_BYTES",
            "default_page_size": "DEFAULT_PAGE_SIZE",
            "usage_dead_letter_queue_url": "USAGE_DLQ_URL",
            "usage_stream_name": "USAGE_STREAM_NAME",
            "usage_retention_days": "USAGE_RETENTION_DAYS",
            "tenant_config_ttl_seconds": "TENANT_CONFIG_TTL_SECONDS",
            "alert_topic_arn": "ALERT_TOPIC_ARN",
            "alert_dead_letter_queue_url": "ALERT_DLQ_URL",
            "alert_retention_days": "ALERT_RETENTION_DAYS",
            "forecast_min_elapsed_percent": "FORECAST_MIN_ELAPSED_PERCENT",
            "forecast_min_spent_percent": "FORECAST_MIN_SPENT_PERCENT",
        }
        return cls.model_validate({f: environ[v] for f, v in fields.items() if environ.get(v)})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)
