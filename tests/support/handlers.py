"""Cold starts on demand: every lru_cache'd builder of the handler modules (clients, services,
caches) is dropped, as a new Lambda instance would start without them."""

from __future__ import annotations


def clear_handler_caches() -> None:
    import alert_routes
    import api_dependencies
    import check_routes
    import policy_routes
    import usage_routes

    import alerts_app
    import policy_api_app
    import usage_ingest_app

    modules = (policy_api_app, api_dependencies, policy_routes, check_routes, usage_routes, alert_routes)
    for module in (*modules, usage_ingest_app, alerts_app):
        for value in list(vars(module).values()):
            if (
                callable(getattr(value, "cache_clear", None))
                and getattr(value, "__module__", "") == module.__name__
            ):
                value.cache_clear()
