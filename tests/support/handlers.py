"""Cold starts on demand: every lru_cache'd builder of the handler modules (clients, services,
caches) is dropped, as a new Lambda instance would start without them."""

from __future__ import annotations

import importlib

API_ROUTE_GROUPS = ("policy_routes", "check_routes", "usage_routes", "alert_routes")
API_MODULES = ("policy_api_app", "api_dependencies", *API_ROUTE_GROUPS)
HANDLER_MODULES = (*API_MODULES, "usage_ingest_app", "alert_delivery", "alerts_app", "alert_redelivery_app")


def clear_handler_caches() -> None:
    for module in map(importlib.import_module, HANDLER_MODULES):
        for value in list(vars(module).values()):
            if (
                callable(getattr(value, "cache_clear", None))
                and getattr(value, "__module__", "") == module.__name__
            ):
                value.cache_clear()
