"""A short-lived in-memory cache of tenant configs, per function instance.

Ingestion reads each tenant's policies once per batch at most, and not at all while the cache is
fresh. A policy change reaches ingestion within ``ttl_seconds``; spend is never lost in that window,
only attributed by the policy set of a few seconds ago.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from budget_core.domain.ingestion_ports import TenantBudgetConfig, TenantConfigSource


class CachedTenantConfig:
    def __init__(
        self, source: TenantConfigSource, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._now = monotonic
        self._entries: dict[str, tuple[float, TenantBudgetConfig]] = {}

    def load(self, tenant_id: str) -> TenantBudgetConfig:
        entry = self._entries.get(tenant_id)
        now = self._now()
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        config = self._source.load(tenant_id)
        self._entries[tenant_id] = (now, config)
        return config

    def invalidate(self, tenant_id: str) -> None:
        self._entries.pop(tenant_id, None)
