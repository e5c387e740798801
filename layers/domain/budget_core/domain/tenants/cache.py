"""A short-lived in-memory cache of tenant configs, per function instance.

Ingestion reads each tenant's policies once per batch at most, and not at all while the cache is
fresh. A stale entry never counts anything wrongly: every commit and every reservation is
conditioned on the tenant's configuration version, and a refused one invalidates the entry and
reads again. The cache holds at most ``max_tenants`` entries (least recently used go first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from budget_core.domain.tenants.config import TenantBudgetConfig, TenantConfigSource

DEFAULT_MAX_TENANTS = 1024


class CachedTenantConfig:
    def __init__(
        self,
        source: TenantConfigSource,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        max_tenants: int = DEFAULT_MAX_TENANTS,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._now = monotonic
        self._max = max_tenants
        self._entries: OrderedDict[str, tuple[float, TenantBudgetConfig]] = OrderedDict()

    def load(self, tenant_id: str) -> TenantBudgetConfig:
        entry = self._entries.get(tenant_id)
        now = self._now()
        if entry is not None and now - entry[0] < self._ttl:
            self._entries.move_to_end(tenant_id)
            return entry[1]
        config = self._source.load(tenant_id)
        self._entries[tenant_id] = (now, config)
        self._entries.move_to_end(tenant_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return config

    def invalidate(self, tenant_id: str) -> None:
        self._entries.pop(tenant_id, None)
