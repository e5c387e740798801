"""The closed vocabularies of a policy, on their own so that code which only needs a name (periods,
the alert path) does not pay for building the policy models at cold start."""

from __future__ import annotations

from enum import StrEnum


class ScopeType(StrEnum):
    TENANT = "tenant"
    TEAM = "team"
    USER = "user"
    API_KEY = "api_key"
    PROJECT = "project"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    TOTAL = "total"


class Enforcement(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class FailMode(StrEnum):
    """What a check answers when the spend counters cannot be read."""

    OPEN = "open"  # allow
    CLOSED = "closed"  # deny


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class UsageKind(StrEnum):
    LLM = "llm"
    IMAGE = "image"
    CUSTOM = "custom"


__all__ = ["Enforcement", "FailMode", "Period", "PolicyStatus", "ScopeType", "UsageKind"]
