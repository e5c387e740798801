"""What a check and a reservation ask and answer: requests, verdicts, the reservation record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from budget_core.domain.checks.spend import Standing
from budget_core.domain.policies.policy import Policy, UsageKind
from budget_core.domain.shared.money import Money
from budget_core.domain.usage.accounting import PolicyCounterKey
from budget_core.domain.usage.event import (
    ATTRIBUTE_PATTERN,
    NAME_PATTERN,
    ServiceTier,
    TokenAndImageUsage,
)

MAX_ESTIMATE = Decimal(100_000)  # one call costing more than this is a mistake, not a budget question
Attribute = Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class CheckRequest(BaseModel):
    """The coming call: its scope attributes and either a cost estimate or a usage estimate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: Attribute | None = None
    team_id: Attribute | None = None
    api_key_id: Attribute | None = None
    project_id: Attribute | None = None
    provider: Name | None = None
    model: Name | None = None
    kind: UsageKind | None = None
    operation: Name | None = None
    estimated_cost_usd: Annotated[Money, Field(ge=0, le=MAX_ESTIMATE)] | None = None
    usage: TokenAndImageUsage | None = None
    # the tier the call will run at: a usage estimate is priced at it
    service_tier: ServiceTier | None = None

    @model_validator(mode="after")
    def _one_estimate(self) -> Self:
        if (self.estimated_cost_usd is None) == (self.usage is None):
            raise ValueError("give either estimated_cost_usd or a usage estimate")
        if self.usage is not None and (self.provider is None or self.model is None):
            raise ValueError("a usage estimate needs provider and model to be priced")
        return self

    def attributes(self) -> dict[str, str | None]:
        return {
            "user_id": self.user_id,
            "team_id": self.team_id,
            "api_key_id": self.api_key_id,
            "project_id": self.project_id,
        }


class ReservationRequest(CheckRequest):
    ttl_seconds: Annotated[int, Field(ge=1, le=3600, strict=True)] = 300


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ALLOW_SOFT_LIMIT = "allow_soft_limit"


@dataclass(frozen=True)
class PolicyVerdict:
    standing: Standing | None  # None when the counters could not be read
    policy: Policy
    period_key: str
    period_end: datetime
    blocking: bool
    over_soft_limit: bool


@dataclass(frozen=True)
class CheckResult:
    amount_usd: Decimal
    verdicts: list[PolicyVerdict]
    degraded: bool = False  # the counters could not be read; fail modes decided

    @property
    def blocking_policy_ids(self) -> list[str]:
        return [v.policy.policy_id for v in self.verdicts if v.blocking]

    @property
    def decision(self) -> Decision:
        if self.blocking_policy_ids:
            return Decision.DENY
        if any(v.over_soft_limit for v in self.verdicts):
            return Decision.ALLOW_SOFT_LIMIT
        return Decision.ALLOW


RESERVATION_ID = re.compile(r"^res_[0-9a-f]{28}$")  # what new_id("res") and a key digest make


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    tenant_id: str
    amount_usd: Decimal
    created_at: datetime
    expires_at: datetime
    counters: list[PolicyCounterKey]
    request_hash: str
    replayed: bool = False
    summed: bool = True  # its holds are in the counters' per-minute sums (False: placed before them)
    status: str = "active"  # active, released or settled
    settled_by: str | None = None  # the usage event that settled it

    @property
    def policy_ids(self) -> list[str]:
        return [k.policy_id for k in self.counters]
