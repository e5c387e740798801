"""Routes of /v1/prices: the tenant's negotiated discounts and private-model rates."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel

from api_bootstrap import root
from budget_core.domain.usage.event import NAME_PATTERN
from budget_core.domain.usage.pricing.overrides import PriceOverride
from budget_core.platform.http_api import current_principal, error_responses

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated

ModelName = Annotated[str, Query(pattern=NAME_PATTERN, description="The model, as the override names it")]
ProviderName = Annotated[
    str, Query(pattern=NAME_PATTERN, description="The provider, as the override names it")
]


class PriceOverridePage(BaseModel):
    items: list[PriceOverride]


@router.get(
    "/v1/prices",
    summary="List the tenant's price overrides",
    tags=["prices"],
    responses={
        200: {"description": "Every override", "content": {"application/json": {"model": PriceOverridePage}}},
        **error_responses(403),
    },
)
def list_price_overrides() -> Response[PriceOverridePage]:
    items = root().price_overrides.list(current_principal(router))
    return Response(200, content_types.APPLICATION_JSON, PriceOverridePage(items=items))


@router.put(
    "/v1/prices",
    summary="Set a price override: a discount on the catalogue, or a model's own rates",
    description="Matched as the catalogue matches names: an override of gpt-4o covers GPT-4o and "
    "gpt-4o-2024-08-06. Ingestion and checks use it once their cache of the tenant's policies "
    "and prices runs out (15 s). The revision goes up by one with each change.",
    tags=["prices"],
    responses={
        200: {"description": "Replaced", "content": {"application/json": {"model": PriceOverride}}},
        201: {"description": "Created", "content": {"application/json": {"model": PriceOverride}}},
        **error_responses(400, 403, 409, 413, 422),
    },
)
def put_price_override(override: Annotated[PriceOverride, Body()]) -> Response[PriceOverride]:
    outcome = root().price_overrides.put(current_principal(router), override)
    return Response(201 if outcome.created else 200, content_types.APPLICATION_JSON, outcome.override)


@router.delete(
    "/v1/prices",
    summary="Remove a price override",
    tags=["prices"],
    responses={204: {"description": "Removed"}, **error_responses(403, 404, 409, 422)},
)
def delete_price_override(provider: ProviderName, model: ModelName) -> Response[None]:
    root().price_overrides.delete(current_principal(router), provider, model)
    return Response(204)
