"""A tenant's own prices: negotiated discounts on the catalogue and rates for private models.

An override names a model as the tenant wrote it; it covers every name the catalogue resolves to
the same model (``gpt-4o`` covers ``GPT-4o`` and ``gpt-4o-2024-08-06``), so two overrides of one
model are a conflict, refused naming the one that exists. Every write moves the tenant's
configuration version with it: ingestion and checks price by the new rates once their cache of the
tenant's configuration (its TTL) runs out, and never commit under a configuration older than what
they read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.errors import NotFound, PriceOverrideConflict, ValidationFailed
from budget_core.domain.usage.pricing.overrides import PriceOverride
from budget_core.domain.usage.pricing.own_rates import rates_problem


class PriceOverrideStore(Protocol):
    def list(self, tenant_id: str) -> Sequence[PriceOverride]: ...

    def put(self, tenant_id: str, override: PriceOverride, replaces: PriceOverride | None) -> None:
        """Writes ``override``, on the condition that the stored one is still ``replaces`` (None:
        that there is none); moves the tenant's configuration version in the same transaction.
        Raises ConcurrentModification when another write came first."""

    def delete(self, tenant_id: str, override: PriceOverride) -> None: ...


class ConfigCache(Protocol):
    def invalidate(self, tenant_id: str) -> None: ...


@dataclass(frozen=True)
class PutOutcome:
    override: PriceOverride
    created: bool


class PriceOverrideService:
    def __init__(
        self,
        store: PriceOverrideStore,
        model_identity: Callable[[str, str], str],
        configs: ConfigCache | None = None,
    ) -> None:
        self._store = store
        self._identity = model_identity
        self._configs = configs

    def list(self, principal: Principal) -> list[PriceOverride]:
        principal.require(Action.READ)
        return sorted(self._store.list(principal.tenant_id), key=lambda o: (o.provider, o.model))

    def put(self, principal: Principal, requested: PriceOverride) -> PutOutcome:
        principal.require(Action.WRITE_PRICES)
        problem = rates_problem(requested.unit_rates)
        if problem is not None:
            raise ValidationFailed(f"rates: {problem}", details=[{"field": "rates", "message": problem}])
        tenant = principal.tenant_id
        identity = self._identity(requested.provider, requested.model)
        same_name: PriceOverride | None = None
        for existing in self._store.list(tenant):
            if (existing.provider, existing.model) == (requested.provider, requested.model):
                same_name = existing
            elif (
                existing.provider == requested.provider
                and self._identity(existing.provider, existing.model) == identity
            ):
                raise PriceOverrideConflict(
                    f"'{existing.model}' of {existing.provider} already has an override, and it covers"
                    f" '{requested.model}' (the same model): change that one",
                    existing_model=existing.model,
                )
        revision = 1 if same_name is None else same_name.revision + 1
        stored = requested.model_copy(update={"revision": revision})
        self._store.put(tenant, stored, same_name)
        self._forget(tenant)
        return PutOutcome(stored, created=same_name is None)

    def delete(self, principal: Principal, provider: str, model: str) -> None:
        principal.require(Action.WRITE_PRICES)
        tenant = principal.tenant_id
        found = next(
            (o for o in self._store.list(tenant) if (o.provider, o.model) == (provider, model)), None
        )
        if found is None:
            raise NotFound(f"no price override for {provider}/{model}")
        self._store.delete(tenant, found)
        self._forget(tenant)

    def _forget(self, tenant_id: str) -> None:
        if self._configs is not None:
            self._configs.invalidate(tenant_id)
