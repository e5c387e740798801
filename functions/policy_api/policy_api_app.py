"""PolicyApiFunction: the Budget Service HTTP API (API Gateway HTTP API, payload 2.0).

The routes live in one Powertools Router per group (policy_routes, check_routes, usage_routes,
alert_routes). A group is imported the first time a request for it arrives, so a cold start pays
for the models and services of the route it serves and not for the other groups' (decision log 27,
bench/cold_start.py). Each route stays thin: parse, call one domain service method, map the result.
"""

from __future__ import annotations

import gc

# Init allocates many long-lived objects (modules, models, validators): collecting while it runs only
# costs cold-start time. Collection is back on, with those objects frozen, at the end of the module.
gc.disable()

import importlib
import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import api_bootstrap  # noqa: F401 - boto3 and the composition root: every route needs them
from budget_core.domain.shared.auth import Action
from budget_core.platform.http_api import current_principal, resolve_with_gate
from budget_core.platform.http_errors import register_error_handlers
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import ApiSettings, settings_of

settings_of(ApiSettings)  # at init: a missing variable fails here, naming it

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

# The first path segment after /v1 names the module whose router serves it.
ROUTE_GROUPS: dict[str, str] = {
    "policies": "policy_routes",
    "budget": "check_routes",
    "reservations": "check_routes",
    "usage": "usage_routes",
    "alerts": "alert_routes",
    "prices": "price_routes",
}
_included: set[str] = set()


def include_route_group(module_name: str) -> None:
    """Imports a route group and adds its routes to the resolver, once per instance.

    The import is part of this instance's initialisation, so it runs like the module's own: without
    garbage collection, its long-lived objects frozen afterwards.
    """
    if module_name in _included:
        return
    gc.disable()
    try:
        app.include_router(importlib.import_module(module_name).router)
        _included.add(module_name)
    finally:
        gc.freeze()
        gc.enable()


def route_group_for(path: str) -> str | None:
    parts = path.split("/", 3)  # "", "v1", segment, rest
    if len(parts) < 3 or parts[0] or parts[1] != "v1":
        return None
    return ROUTE_GROUPS.get(parts[2])


def include_route_group_for(path: str) -> None:
    group = route_group_for(path)
    if group is not None:
        include_route_group(group)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    current_principal(app).require(Action.READ_API_DOCS)
    return Response(200, content_types.APPLICATION_JSON, _openapi_text())


@lru_cache(maxsize=1)
def _openapi_text() -> str:
    """Powertools documents a body for ``Response[None]``; a 204 has none, so it is taken out.
    Built on first request, with every route group: no other route needs the OpenAPI models."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    for module_name in sorted(set(ROUTE_GROUPS.values())):
        include_route_group(module_name)
    app.configure_openapi(
        title="Budget Service API",
        version="1.0.0",
        description="Budgets for LLM and image-generation spend. Every route needs a bearer JWT whose "
        "claims carry the tenant and the roles (admin, viewer, service).",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"jwt": []}],
    )
    document = json.loads(app.get_openapi_json_schema())
    # The same bytes whichever group this instance happened to load first.
    document["paths"] = dict(sorted(document.get("paths", {}).items()))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            no_content = operation.get("responses", {}).get("204")
            if isinstance(no_content, dict):
                no_content.pop("content", None)
    return json.dumps(document, separators=(",", ":"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_with_gate(app, event, context, before_routing=include_route_group_for)


gc.freeze()
gc.enable()
