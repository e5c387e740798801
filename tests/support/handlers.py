"""Cold starts on demand: every lru_cache'd builder of the handler modules (clients, services,
caches) is dropped, as a new Lambda instance would start without them."""

from __future__ import annotations


def clear_handler_caches() -> None:
    import alerts_app
    import policy_api_app
    import usage_ingest_app

    for module in (policy_api_app, usage_ingest_app, alerts_app):
        for value in list(vars(module).values()):
            if (
                callable(getattr(value, "cache_clear", None))
                and getattr(value, "__module__", "") == module.__name__
            ):
                value.cache_clear()
