"""Creates the template's stateful resources in an AWS endpoint (moto in tests, the demo and the
local stack), from template.yaml itself so that nothing is declared twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from budget_service.template import create_table, load_template, resource


@dataclass(frozen=True)
class ProvisionedNames:
    table_name: str
    event_bus_name: str


def provision(names: ProvisionedNames, region: str, endpoint_url: str | None = None) -> dict[str, Any]:
    """Creates BudgetTable and EventBus under ``names``; returns the template it read."""
    template = load_template()
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    create_table(dynamodb, resource(template, "BudgetTable"), names.table_name)
    bus = resource(template, "EventBus")
    assert bus.type == "AWS::Events::EventBus"
    boto3.client("events", region_name=region, endpoint_url=endpoint_url).create_event_bus(
        Name=names.event_bus_name
    )
    return template
