"""The template check must pass on the real template and catch broken event-source properties."""

from __future__ import annotations

import copy
import functools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from budget_service.templates.check import check
from budget_service.templates.model import PROJECT_ROOT, load_template

STREAM_EVENT_TYPES = ("Kinesis", "DynamoDB")


def _stream_event(template: dict[str, Any]) -> dict[str, Any]:
    """The first stream event source of the template; one is added to a copy if there is none yet."""
    for body in template["Resources"].values():
        if body["Type"] != "AWS::Serverless::Function":
            continue
        for event in body["Properties"].get("Events", {}).values():
            if event["Type"] in STREAM_EVENT_TYPES:
                return dict(event["Properties"])
    template["Resources"]["ProbeStream"] = {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}}
    events = template["Resources"]["PolicyApiFunction"]["Properties"]["Events"]
    events["ProbeStream"] = {
        "Type": "Kinesis",
        "Properties": {
            "Stream": {"Fn::GetAtt": ["ProbeStream", "Arn"]},
            "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    }
    return events["ProbeStream"]["Properties"]


def _break_stream_event(template: dict[str, Any], **properties: Any) -> dict[str, Any]:
    broken = copy.deepcopy(template)
    _stream_event(broken)
    for body in broken["Resources"].values():
        for event in body.get("Properties", {}).get("Events", {}).values():
            if event["Type"] in STREAM_EVENT_TYPES:
                event["Properties"].update(properties)
                return broken
    raise AssertionError("no stream event to break")


def test_the_real_template_passes_the_check() -> None:
    # Given the template as committed / When it is expanded and linted
    findings = check(load_template())
    # Then nothing is reported
    assert findings == []


def test_a_misspelled_function_response_type_is_caught() -> None:
    # Given a stream event source whose response type lost its final "s"
    broken = _break_stream_event(load_template(), FunctionResponseTypes=["ReportBatchItemFailure"])
    # When the template is checked
    findings = check(broken)
    # Then the expanded event source mapping is reported
    assert any("ReportBatchItemFailure" in f.message and f.level == "error" for f in findings), findings


def test_an_out_of_range_batch_size_is_caught() -> None:
    # Given a stream event source with a batch size Lambda does not allow
    broken = _break_stream_event(load_template(), BatchSize=50000)
    # When / Then
    assert any(f.level == "error" and "BatchSize" in f.path for f in check(broken))


def test_a_get_att_to_a_missing_resource_is_caught() -> None:
    # Given the table reference of a function's environment pointing at nothing
    broken = load_template()
    broken["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] = {
        "Fn::GetAtt": ["NoSuchTable", "Arn"]
    }
    # When / Then: the unresolvable GetAtt is what is reported
    assert any(f.level == "error" and "NoSuchTable" in f.message for f in check(broken))


@pytest.mark.parametrize(
    "logical_id", ["PolicyApiFunction", "DomainLayer", "BudgetTable", "HttpApi", "EventBus"]
)
def test_the_logical_ids_operators_rely_on_exist(logical_id: str) -> None:
    assert logical_id in load_template()["Resources"]


def test_the_budget_table_keeps_history_and_encrypts() -> None:
    table = load_template()["Resources"]["BudgetTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["TimeToLiveSpecification"]["Enabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.\[\]-]+)==([^\s;#]+)", line.strip().strip('",'))
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_the_layer_installs_the_versions_the_project_pins() -> None:
    # Given the runtime pins of pyproject.toml and the layer's requirements.txt
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = Path(PROJECT_ROOT / "layers/domain/requirements.txt").read_text().splitlines()
    # Then every package the layer installs has the version the tests ran with
    project_pins, layer_pins = _pins(project), _pins(layer)
    assert layer_pins
    for name, version in layer_pins.items():
        assert project_pins.get(name) == version, name


@functools.cache
def _expanded_policies() -> dict[str, list[dict[str, Any]]]:
    """Every IAM statement of every role in the SAM-expanded template, by role (expanded once)."""
    from budget_service.templates.check import expand

    expanded = expand(load_template())
    statements: dict[str, list[dict[str, Any]]] = {}
    for logical_id, body in expanded["Resources"].items():
        if body["Type"] != "AWS::IAM::Role":
            continue
        for policy in body["Properties"].get("Policies", []):
            found = policy["PolicyDocument"]["Statement"]
            statements.setdefault(logical_id, []).extend(found if isinstance(found, list) else [found])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_no_role_may_do_everything_to_anything() -> None:
    roles = _expanded_policies()
    assert len(roles) == 4  # one per function
    for role, statements in roles.items():
        for statement in statements:
            actions = _actions(statement)
            assert not [a for a in actions if a == "*" or a.endswith(":*")], (role, actions)
            resources = statement.get("Resource")
            assert resources != "*" or all(a.startswith(("xray:", "logs:")) for a in actions), (
                role,
                statement,
            )


def test_each_function_has_only_the_table_actions_its_code_uses() -> None:
    def table_actions(role_prefix: str) -> set[str]:
        found: set[str] = set()
        for role, statements in _expanded_policies().items():
            if role.startswith(role_prefix):
                for statement in statements:
                    found |= {a for a in _actions(statement) if a.startswith("dynamodb:")}
        return found

    assert "dynamodb:DeleteItem" not in table_actions("UsageIngestFunction")
    assert "dynamodb:Scan" not in table_actions("")  # nothing scans: every read is a key lookup or Query
    assert table_actions("AlertRedeliveryFunction") == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }


def test_every_log_group_keeps_logs_for_a_bounded_time_and_every_store_is_encrypted() -> None:
    resources = load_template()["Resources"]
    for logical_id, body in resources.items():
        props = body.get("Properties", {})
        if body["Type"] == "AWS::Logs::LogGroup":
            assert "RetentionInDays" in props, logical_id
        if body["Type"] == "AWS::Serverless::Function":
            assert "LogGroup" in props.get("LoggingConfig", {}), logical_id
        if body["Type"] == "AWS::SNS::Topic":
            assert props.get("KmsMasterKeyId"), logical_id
        if body["Type"] == "AWS::SQS::Queue":
            assert props.get("SqsManagedSseEnabled") or props.get("KmsMasterKeyId"), logical_id
        if body["Type"] == "AWS::Kinesis::Stream":
            assert props["StreamEncryption"]["EncryptionType"] == "KMS", logical_id
        if body["Type"] == "AWS::DynamoDB::Table":
            assert props["SSESpecification"]["SSEEnabled"] is True, logical_id
