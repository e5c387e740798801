"""Usage event v1: one LLM, image or custom call reported by a producer (docs/contracts.md,
"Usage event v1")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

from budget_core.domain.policies.policy import UsageKind
from budget_core.domain.shared.money import MAX_MONEY, Money
from budget_core.domain.usage.provider_usage import usage_from_provider
from budget_core.domain.usage.units import USAGE_KEY_ANCESTORS

EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
TENANT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ATTRIBUTE_PATTERN = r"^[A-Za-z0-9._:@/+=-]{1,128}$"
NAME_PATTERN = r"^[A-Za-z0-9._:/@+-]{1,128}$"
MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=35)
MAX_METADATA_PAIRS = 20


class _CountSchema:
    """The core schema of ``Annotated[int, Field(ge=0, le=10**12, strict=True)]``, given as such: pydantic
    then skips applying the constraints once per field, a third of the cold start's cost of building
    TokenAndImageUsage (some sixty such fields). Same validation, serialization and JSON schema."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.int_schema(ge=0, le=10**12, strict=True)


Count = Annotated[int, _CountSchema()]
# seconds of audio: fractions allowed, to the millisecond
Duration = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=3, allow_inf_nan=False)]


class ServiceTier(StrEnum):
    DEFAULT = "default"
    FLEX = "flex"
    BATCH = "batch"
    PRIORITY = "priority"


class TokenAndImageUsage(BaseModel):
    """What a call used, in the catalogue's units (docs/contracts.md, "Usage v1.1"). A part is
    included in its total: ``cache_read_tokens`` in ``input_tokens``, ``cache_write_1h_tokens`` in
    ``cache_write_tokens``, ``output_reasoning_tokens`` in ``output_tokens``. Unknown keys are refused
    by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    images: Count = 0
    image_size: Annotated[str, Field(pattern=r"^(\d{2,5}x\d{2,5}|auto)$")] | None = None
    image_quality: Annotated[str, Field(pattern=r"^(standard|hd|low|medium|high|auto)$")] | None = None
    # Usage v1.1: every other key of the catalogue, with its meaning there (domain/usage/units.py)
    cache_write_5m_tokens: Count = 0
    cache_write_1h_tokens: Count = 0
    input_text_tokens: Count = 0
    output_text_tokens: Count = 0
    cache_text_read_tokens: Count = 0
    cache_text_write_tokens: Count = 0
    cache_text_write_5m_tokens: Count = 0
    cache_text_write_1h_tokens: Count = 0
    input_audio_tokens: Count = 0
    output_audio_tokens: Count = 0
    cache_audio_read_tokens: Count = 0
    cache_audio_write_tokens: Count = 0
    cache_audio_write_5m_tokens: Count = 0
    cache_audio_write_1h_tokens: Count = 0
    input_image_tokens: Count = 0
    output_image_tokens: Count = 0
    cache_image_read_tokens: Count = 0
    cache_image_write_tokens: Count = 0
    cache_image_write_5m_tokens: Count = 0
    cache_image_write_1h_tokens: Count = 0
    input_video_tokens: Count = 0
    output_video_tokens: Count = 0
    cache_video_read_tokens: Count = 0
    cache_video_write_tokens: Count = 0
    cache_video_write_5m_tokens: Count = 0
    cache_video_write_1h_tokens: Count = 0
    input_tool_tokens: Count = 0
    input_text_tool_tokens: Count = 0
    input_audio_tool_tokens: Count = 0
    input_image_tool_tokens: Count = 0
    input_video_tool_tokens: Count = 0
    output_reasoning_tokens: Count = 0
    output_text_reasoning_tokens: Count = 0
    output_audio_reasoning_tokens: Count = 0
    output_image_reasoning_tokens: Count = 0
    output_video_reasoning_tokens: Count = 0
    output_citation_tokens: Count = 0
    output_text_citation_tokens: Count = 0
    output_audio_citation_tokens: Count = 0
    output_image_citation_tokens: Count = 0
    output_video_citation_tokens: Count = 0
    input_characters: Count = 0
    input_text_messages: Count = 0
    audio_seconds: Duration = Decimal(0)
    input_audio_seconds: Duration = Decimal(0)
    output_audio_seconds: Duration = Decimal(0)
    input_pixels: Count = 0
    input_document_pages: Count = 0
    input_annotated_document_pages: Count = 0
    rerank_searches: Count = 0
    web_searches: Count = 0
    social_searches: Count = 0
    storage_searches: Count = 0
    code_executions: Count = 0

    @model_validator(mode="after")
    def _parts_within_their_totals(self) -> Self:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                "cache_read_tokens + cache_write_tokens are part of input_tokens and cannot exceed it"
            )
        # only the keys the producer sent (a handful of some sixty): the rest are zero
        for key in self.model_fields_set:
            ancestors = USAGE_KEY_ANCESTORS.get(key)
            part = getattr(self, key)
            if not ancestors or not part:
                continue
            for ancestor in ancestors:
                if part > getattr(self, ancestor):
                    raise ValueError(f"{key} ({part}) is part of {ancestor} and cannot exceed it")
        return self

    def reported(self) -> dict[str, int | Decimal]:
        """The catalogue's usage keys this usage reports (non-zero)."""
        return {
            key: value
            for key in self.model_fields_set
            if key in USAGE_KEY_ANCESTORS and (value := getattr(self, key))
        }


class UsageEvent(BaseModel):
    """Validate with ``UsageEvent.model_validate(data, context={"now": datetime})`` to apply the
    time window against a given clock; without it, the system clock is used."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
    tenant_id: Annotated[str, Field(pattern=TENANT_PATTERN)]
    timestamp: AwareDatetime
    kind: UsageKind
    provider: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    model: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    operation: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    user_id: Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)] | None = None
    team_id: Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)] | None = None
    api_key_id: Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)] | None = None
    project_id: Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)] | None = None
    usage: TokenAndImageUsage = Field(default_factory=TokenAndImageUsage)
    # the provider's service tier, priced at that tier where the catalogue has one
    service_tier: ServiceTier | None = None
    # the provider's own usage object, read with its conventions into ``usage`` (provider_usage.py)
    provider_usage: dict[str, Any] | None = None
    api_flavor: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")] | None = None
    cost_usd: Annotated[Money, Field(ge=0, le=MAX_MONEY)] | None = None
    reservation_id: Annotated[str, Field(pattern=EVENT_ID_PATTERN)] | None = None
    metadata: dict[
        Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=512)]
    ] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _usage_from_provider(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("provider_usage") is None:
            return data
        if data.get("usage") is not None:
            raise ValueError("give usage or provider_usage, not both")
        provider_usage, provider = data["provider_usage"], data.get("provider")
        if not isinstance(provider_usage, dict):
            raise ValueError("provider_usage must be the provider's usage object")
        if not isinstance(provider, str):
            raise ValueError("provider_usage needs provider, whose conventions it is read with")
        flavor = data.get("api_flavor")
        usage = usage_from_provider(provider, flavor if isinstance(flavor, str) else None, provider_usage)
        return {**data, "usage": usage}

    @field_validator("timestamp")
    @classmethod
    def _within_window(cls, value: datetime, info: ValidationInfo) -> datetime:
        context: Any = info.context or {}
        # "now" is the event's arrival: the stream's arrival time in ingestion, the receive time in
        # the API, which also keeps a "margin" for the trip to the stream so that nothing it accepts
        # is refused at arrival.
        now = context.get("now") or datetime.now(UTC)
        margin = context.get("margin") or timedelta(0)
        if value - now > MAX_FUTURE_SKEW - margin:
            raise ValueError("is more than 5 minutes in the future")
        if now - value > MAX_EVENT_AGE - margin:
            raise ValueError("is older than 35 days")
        return value.astimezone(UTC)

    @field_validator("metadata")
    @classmethod
    def _few_metadata_pairs(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_METADATA_PAIRS:
            raise ValueError(f"holds at most {MAX_METADATA_PAIRS} pairs")
        return value

    @model_validator(mode="after")
    def _provider_and_model_for_priced_kinds(self) -> Self:
        if self.kind is not UsageKind.CUSTOM and (self.provider is None or self.model is None):
            missing = [name for name in ("provider", "model") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"'{self.kind.value}' events need {' and '.join(missing)}")
        return self

    def scope_value(self, attribute: str) -> str | None:
        value = getattr(self, attribute)
        return value if isinstance(value, str) else None
