"""Cold starts on demand: each function's composition root is dropped (and the alert functions'
cached builders), as a new Lambda instance would start without them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from budget_core.domain.shared.clock import Clock

API_ROUTE_GROUPS = ("policy_routes", "check_routes", "usage_routes", "alert_routes", "price_routes")
API_MODULES = ("policy_api_app", "api_bootstrap", *API_ROUTE_GROUPS)
HANDLER_MODULES = (*API_MODULES, "usage_ingest_app", "alert_delivery", "alerts_app", "alert_redelivery_app")
ROOTS = ("api_bootstrap", "ingest_bootstrap", "alert_delivery")


def clear_handler_caches() -> None:
    for name in ROOTS:
        importlib.import_module(name).install(None)
    for module in map(importlib.import_module, HANDLER_MODULES):
        for value in list(vars(module).values()):
            if (
                callable(getattr(value, "cache_clear", None))
                and getattr(value, "__module__", "") == module.__name__
            ):
                value.cache_clear()


def install_clock(clock: Clock) -> None:
    """Every function's root built with ``clock`` (and otherwise as at a cold start)."""
    import alert_delivery
    import api_bootstrap
    import ingest_bootstrap
    from budget_core.platform.settings import AlertDeliverySettings, ApiSettings, IngestSettings, settings_of

    api_bootstrap.install(api_bootstrap.ApiRoot(settings_of(ApiSettings), clock))
    ingest_bootstrap.install(ingest_bootstrap.IngestRoot(settings_of(IngestSettings), clock))
    alert_delivery.install(alert_delivery.AlertRoot(settings_of(AlertDeliverySettings), clock))
