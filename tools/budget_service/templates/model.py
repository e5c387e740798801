"""Reads template.yaml so that tests and the local stack build exactly what gets deployed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # tools/budget_service/templates -> root
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref X`` becomes ``{"Ref": "X"}``)."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(document, dict)
    return document


@dataclass(frozen=True)
class TemplateResource:
    logical_id: str
    type: str
    properties: dict[str, Any]


def resources(template: dict[str, Any], resource_type: str | None = None) -> list[TemplateResource]:
    found = []
    for logical_id, body in template.get("Resources", {}).items():
        if resource_type is None or body.get("Type") == resource_type:
            found.append(TemplateResource(logical_id, body["Type"], body.get("Properties", {})))
    return found


def resource(template: dict[str, Any], logical_id: str) -> TemplateResource:
    body = template["Resources"][logical_id]
    return TemplateResource(logical_id, body["Type"], body.get("Properties", {}))


def create_table(dynamodb: Any, table: TemplateResource, table_name: str) -> None:
    """Create ``table`` (an AWS::DynamoDB::Table of the template) with boto3, keys and all."""
    props = table.properties
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        request["SSESpecification"] = {"Enabled": props["SSESpecification"].get("SSEEnabled", False)}
    dynamodb.create_table(**request)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
