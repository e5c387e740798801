"""Budget policies: what a tenant limits, for which scope, over which period."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Re-exported: the enums are part of this module's public names.
from budget_core.domain.policies.enums import Enforcement as Enforcement
from budget_core.domain.policies.enums import FailMode as FailMode
from budget_core.domain.policies.enums import Period as Period
from budget_core.domain.policies.enums import PolicyStatus as PolicyStatus
from budget_core.domain.policies.enums import ScopeType as ScopeType
from budget_core.domain.policies.enums import UsageKind as UsageKind
from budget_core.domain.shared.money import MAX_MONEY, Money

POLICY_ID = re.compile(r"^pol_[0-9a-f]{28}$")  # what ids.new_id("pol") makes
SCOPE_ID_PATTERN = r"^[A-Za-z0-9._:@/+=-]{1,128}$"
FILTER_VALUE_PATTERN = r"^[A-Za-z0-9._:/@+-]{1,128}$"
DEFAULT_THRESHOLDS = (50, 80, 100)
MAX_THRESHOLDS = 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Models only the API validates (request bodies): their validators are built on first use, so the
# stream functions, which import this module for Policy alone, do not pay for them at cold start.
BUILT_ON_FIRST_USE = ConfigDict(defer_build=True)


class Scope(_Strict):
    type: ScopeType
    id: Annotated[str, Field(pattern=SCOPE_ID_PATTERN)] | None = None

    @model_validator(mode="after")
    def _id_matches_type(self) -> Self:
        if self.type is ScopeType.TENANT and self.id is not None:
            raise ValueError("a 'tenant' scope covers the whole tenant and takes no id")
        if self.type is not ScopeType.TENANT and self.id is None:
            raise ValueError(f"a '{self.type.value}' scope needs an id")
        return self


class Filters(_Strict):
    provider: Annotated[str, Field(pattern=FILTER_VALUE_PATTERN)] | None = None
    model: Annotated[str, Field(pattern=FILTER_VALUE_PATTERN)] | None = None
    kind: UsageKind | None = None

    @property
    def is_empty(self) -> bool:
        return self.provider is None and self.model is None and self.kind is None


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    """The zone names of the tzdata package (what the layer ships), not of the host's files."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(listed) - {"Factory"}


def validate_timezone(value: str) -> str:
    # Only names from the IANA database: ZoneInfo alone would also open "localtime" or file paths.
    if value not in _iana_zones():
        raise ValueError("must be an IANA time zone such as 'Europe/Paris'")
    return value


def validate_thresholds(values: list[int]) -> list[int]:
    if len(values) > MAX_THRESHOLDS:
        raise ValueError(f"at most {MAX_THRESHOLDS} thresholds")
    if len(set(values)) != len(values):
        raise ValueError("thresholds must not repeat")
    return sorted(values)


Threshold = Annotated[int, Field(ge=1, le=1000, strict=True)]
# A limit below a cent is a mistake, and percents of it would need more digits than any answer has:
# new limits start at a cent; stored ones (made before this rule) are still read.
MIN_LIMIT = Decimal("0.01")
PositiveLimit = Annotated[Money, Field(gt=0, le=MAX_MONEY)]
NewLimit = Annotated[Money, Field(ge=MIN_LIMIT, le=MAX_MONEY)]
# What a counter counts: a change of any of these starts a new counter (a new basis), seeded from the
# spend already recorded for the new scope (invariant 9); limit and threshold edits keep the counter.
BASIS_FIELDS = ("scope", "filters", "period", "timezone")
PolicyName = Annotated[str, Field(min_length=1, max_length=128)]
Timezone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(validate_timezone)]
Thresholds = Annotated[list[Threshold], AfterValidator(validate_thresholds)]


class PolicyFields(_Strict):
    """Everything a tenant sets on a policy; the rest is made by the server. Never validated on its
    own (NewPolicy and Policy are), so its validator is not built unless someone asks for it."""

    model_config = BUILT_ON_FIRST_USE

    name: PolicyName
    scope: Scope
    filters: Filters = Filters()
    period: Period
    timezone: Timezone = "UTC"
    limit_usd: PositiveLimit
    enforcement: Enforcement = Enforcement.HARD
    alert_thresholds: Thresholds = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    forecast_alerts: bool = False
    status: PolicyStatus = PolicyStatus.ACTIVE
    # None: closed for hard policies, open for soft ones.
    fail_mode: FailMode | None = None
    # True: the spend already recorded in the current period for this scope and filters counts from
    # the moment the policy (or its new scope) takes effect; False: only what is committed after.
    include_existing_spend: bool = True

    @property
    def effective_fail_mode(self) -> FailMode:
        if self.fail_mode is not None:
            return self.fail_mode
        return FailMode.CLOSED if self.enforcement is Enforcement.HARD else FailMode.OPEN

    def uniqueness_key(self) -> str:
        """At most one policy per (scope, period, filters) in a tenant: this string names that slot."""
        scope_id = self.scope.id or "*"
        f = self.filters
        return "|".join(
            (
                self.scope.type.value,
                scope_id,
                self.period.value,
                f.provider or "*",
                f.model or "*",
                f.kind.value if f.kind else "*",
            )
        )


class NewPolicy(PolicyFields):
    """Body of ``POST /v1/policies``."""

    model_config = BUILT_ON_FIRST_USE

    limit_usd: NewLimit


class PolicyPatch(_Strict):
    """Body of ``PATCH /v1/policies/{id}``: the fields given replace the stored ones."""

    model_config = BUILT_ON_FIRST_USE

    name: PolicyName | None = None
    scope: Scope | None = None
    filters: Filters | None = None
    period: Period | None = None
    timezone: Timezone | None = None
    limit_usd: NewLimit | None = None
    enforcement: Enforcement | None = None
    alert_thresholds: Thresholds | None = None
    forecast_alerts: bool | None = None
    status: PolicyStatus | None = None
    fail_mode: FailMode | None = None
    include_existing_spend: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"fields cannot be set to null: {', '.join(nulls)}")
            if not data:
                raise ValueError("the patch changes nothing: give at least one field")
        return data

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class AlertSettings(_Strict):
    """Body of ``PUT /v1/policies/{id}/alerts`` (configure_alert): replaces the policy's alert
    settings. The counters carry them, so the alert function never reads the policy per record."""

    model_config = BUILT_ON_FIRST_USE

    thresholds: Thresholds = Field(description="percents of the limit, 1..1000, at most 10, no repeats")
    forecast: bool = Field(default=False, description="alert once when the period is on course to exceed")

    def as_patch(self) -> PolicyPatch:
        return PolicyPatch(alert_thresholds=self.thresholds, forecast_alerts=self.forecast)


class Policy(PolicyFields):
    # Every function reads stored policies on its first request: built at import, not deferred
    # (the config of PolicyFields would otherwise be inherited).
    model_config = ConfigDict(defer_build=False)

    policy_id: str
    tenant_id: str
    version: Annotated[int, Field(ge=1)]
    # The version whose scope, filters, period and time zone the counters count (see BASIS_FIELDS).
    basis_version: Annotated[int, Field(ge=1)] = 1
    basis_since: datetime | None = None  # when that version took effect; None: at creation
    created_at: datetime
    updated_at: datetime

    def apply(self, patch: PolicyPatch, now: datetime) -> Policy:
        """The policy after ``patch``, re-validated as a whole, one version up."""
        data = self.model_dump()
        data.update(patch.changes())
        data.update(version=self.version + 1, updated_at=now)
        updated = Policy.model_validate(data)
        if any(getattr(updated, name) != getattr(self, name) for name in BASIS_FIELDS):
            updated = updated.model_copy(update={"basis_version": updated.version, "basis_since": now})
        return updated

    @property
    def counting_since(self) -> datetime:
        """When the current basis took effect: its counters count every commit from then on."""
        return self.basis_since or self.created_at

    def changed_fields(self, other: Policy) -> list[str]:
        ignored = {"version", "updated_at", "basis_version", "basis_since"}
        return sorted(
            name
            for name in PolicyFields.model_fields
            if name not in ignored and getattr(self, name) != getattr(other, name)
        )
