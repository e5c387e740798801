"""``guard(client, budget, **scope)``: the provider's own client, with every paid call held against
the budgets before it is made and settled from the provider's own usage after.

    client = guard(openai.OpenAI(), budget, user_id="alice", team_id="research")
    client.chat.completions.create(model="gpt-4o", messages=[...], max_tokens=200)  # same call, same answer

Each call reserves an upper bound of its cost (``budget_sdk.estimates``), raising BudgetExceeded
before the provider is called when a hard budget would be passed; the provider's answer comes back
unchanged, and its usage settles the hold at once. A call that fails releases the hold; a stream
settles at its end with the usage the provider reports (OpenAI is asked for it), and a stream that
fails, is closed early or abandoned settles what it streamed. Per call, ``budget_scope={...}``
overrides the scope (user_id, team_id, api_key_id, project_id), and ``budget_estimate_usd`` replaces
the estimate (a private model the service cannot price).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from budget_sdk.client import AsyncBudgetClient, BudgetClient, Hold

log = logging.getLogger("budget_sdk")
SCOPE_FIELDS = ("user_id", "team_id", "api_key_id", "project_id")
SERVICE_TIERS = ("default", "flex", "batch", "priority")
PER_CALL_OPTIONS = ("budget_scope", "budget_estimate_usd")


@dataclass
class CallSpec:
    """One provider call as the budget sees it: what it is, and the most it can cost."""

    provider: str
    kind: str  # llm or image
    operation: str
    model: str | None
    api_flavor: str
    estimate: dict[str, Any]  # usage v1.1 keys: an upper bound of what the call can use
    service_tier: str | None = None


@dataclass
class GuardStats:
    calls: int = 0
    denied: int = 0
    settled: int = 0
    released: int = 0
    unsettled: int = 0  # usage that could not be settled (logged): its hold ends at its ttl


@dataclass
class Guarded:
    """A paid call in flight: the hold, and how to settle it once."""

    budget: BudgetClient
    spec: CallSpec
    scope: dict[str, str]
    hold: Hold
    stats: GuardStats
    _done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def settle(
        self,
        provider_usage: Mapping[str, Any] | None,
        model: str | None,
        usage: Mapping[str, Any] | None = None,
        service_tier: str | None = None,
    ) -> None:
        """Settles with the provider's usage object, or with a usage of our own (what a broken
        stream used, an image call's count)."""
        if not self._claim():
            return
        rid = self.hold.reservation_id
        if rid is None:  # failed open: nothing held, and the service cannot be told
            self.stats.unsettled += 1
            log.warning(
                "budget service unreachable: the usage of a %s call was not recorded", self.spec.model
            )
            return
        event: dict[str, Any] = {
            "kind": self.spec.kind,
            "provider": self.spec.provider,
            "model": model or self.spec.model,
            "operation": self.spec.operation,
            **self.scope,
        }
        tier = service_tier if service_tier in SERVICE_TIERS else self.spec.service_tier
        if tier is not None:
            event["service_tier"] = tier
        if provider_usage is not None:
            event.update(provider_usage=dict(provider_usage), api_flavor=self.spec.api_flavor)
        else:
            event["usage"] = dict(usage or self.spec.estimate)
        try:
            self.budget.settle(rid, **event)
            self.stats.settled += 1
        except Exception:  # the provider answered: its answer is the caller's, whatever the budget says
            self.stats.unsettled += 1
            log.exception("settling reservation %s failed: its hold ends at its ttl", rid)

    def release(self) -> None:
        if not self._claim() or self.hold.reservation_id is None:
            return
        try:
            self.budget.release(self.hold.reservation_id)
            self.stats.released += 1
        except Exception:
            log.exception(
                "releasing reservation %s failed: its hold ends at its ttl", self.hold.reservation_id
            )

    @property
    def done(self) -> bool:
        return self._done

    def _claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True


class Guard:
    """What every guarded call shares: the budget client, the scope and the reservation's ttl."""

    def __init__(
        self, budget: BudgetClient | AsyncBudgetClient, scope: Mapping[str, str], ttl_seconds: int
    ) -> None:
        unknown = set(scope) - set(SCOPE_FIELDS)
        if unknown:
            raise ValueError(f"scope takes {', '.join(SCOPE_FIELDS)}; not {', '.join(sorted(unknown))}")
        self.budget = budget._client if isinstance(budget, AsyncBudgetClient) else budget
        self.scope = {k: v for k, v in scope.items() if v is not None}
        self.ttl_seconds = ttl_seconds
        self.stats = GuardStats()

    def with_scope(self, **scope: str) -> Guard:
        merged = Guard(self.budget, {**self.scope, **scope}, self.ttl_seconds)
        merged.stats = self.stats
        return merged

    def begin(self, spec: CallSpec, options: Mapping[str, Any]) -> Guarded:
        """Reserves the call's upper bound; raises BudgetExceeded before the provider is called."""
        scope = {**self.scope, **dict(options.get("budget_scope") or {})}
        override = options.get("budget_estimate_usd")
        call: dict[str, Any] = {
            "kind": spec.kind,
            "provider": spec.provider,
            "model": spec.model,
            "operation": spec.operation,
            **scope,
        }
        if override is None:
            call["usage"] = spec.estimate
            if spec.service_tier is not None:
                call["service_tier"] = spec.service_tier
        self.stats.calls += 1
        try:
            hold = self.budget.reserve(
                Decimal(str(override)) if override is not None else None, ttl_seconds=self.ttl_seconds, **call
            )
        except Exception as error:
            if type(error).__name__ == "BudgetExceeded":
                self.stats.denied += 1
            raise
        return Guarded(self.budget, spec, scope, hold, self.stats)

    async def begin_async(self, spec: CallSpec, options: Mapping[str, Any]) -> Guarded:
        return await asyncio.to_thread(self.begin, spec, options)


def split_options(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The provider's own arguments, and the guard's per-call options (never sent to it)."""
    options = {name: kwargs.pop(name) for name in PER_CALL_OPTIONS if name in kwargs}
    return kwargs, options


def usage_of(response: Any) -> dict[str, Any] | None:
    """A provider response's usage object as plain JSON (None values left out)."""
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    if hasattr(usage, "model_dump"):
        dumped: dict[str, Any] = usage.model_dump(mode="json", exclude_none=True)
        return dumped
    return dict(usage) if isinstance(usage, Mapping) else None


def guard(
    client: Any, budget: BudgetClient | AsyncBudgetClient, *, ttl_seconds: int = 600, **scope: str
) -> Any:
    """The provider client ``client`` (openai.OpenAI / AsyncOpenAI, anthropic.Anthropic /
    AsyncAnthropic), with its paid calls held against ``budget`` for ``scope``."""
    shared = Guard(budget, scope, ttl_seconds)
    module = type(client).__module__.split(".")[0]
    if module == "openai":
        from budget_sdk.providers.openai import guard_openai

        return guard_openai(client, shared)
    if module == "anthropic":
        from budget_sdk.providers.anthropic import guard_anthropic

        return guard_anthropic(client, shared)
    raise TypeError(f"guard() knows OpenAI and Anthropic clients, not {type(client).__qualname__}")
