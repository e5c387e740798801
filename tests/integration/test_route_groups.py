"""The API's routes load by group on first use: every route must answer when it is the first request
a new instance serves, and must load only the group that serves it (what keeps the cold start low)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.sample_events import EVENTS_DIR, api_event
from budget_service.templates.model import load_template
from tests.support.aws import AwsResources
from tests.support.handlers import API_MODULES, API_ROUTE_GROUPS

SAMPLES = sorted(path.stem for path in (EVENTS_DIR / "policy_api").glob("*.json"))


@pytest.fixture
def new_instance(aws: AwsResources, fresh_handlers: None) -> Iterator[ModuleType]:
    """The handler module as a new Lambda instance imports it; the test session's modules are put
    back afterwards, so other tests keep the objects they patched."""
    saved = {name: sys.modules.pop(name) for name in API_MODULES if name in sys.modules}
    try:
        yield importlib.import_module("policy_api_app")
    finally:
        for name in API_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def _template_routes() -> set[tuple[str, str]]:
    events = load_template()["Resources"]["PolicyApiFunction"]["Properties"]["Events"]
    return {
        (str(e["Properties"]["Method"]).lower(), str(e["Properties"]["Path"]))
        for e in events.values()
        if e["Type"] == "HttpApi"
    }


def test_importing_the_handler_loads_no_route_group(new_instance: ModuleType) -> None:
    # Given a new instance / When only its handler module is imported (the measured init)
    # Then no group of routes, with its models and services, has been loaded yet
    assert [name for name in API_ROUTE_GROUPS if name in sys.modules] == []


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_route_answers_as_the_first_request_of_a_new_instance(
    new_instance: ModuleType, sample: str
) -> None:
    # Given a new instance that has served nothing
    event = api_event(sample)
    # When the sample request of a route is its first
    result = new_instance.handler(event, LocalLambdaContext())
    # Then the route was found and answered without a server error
    body = json.loads(result.get("body") or "null")
    assert result["statusCode"] < 500, body
    assert not (isinstance(body, dict) and body.get("error", {}).get("code") == "route_not_found")
    # And only the group that serves it was loaded (the document needs them all)
    group = new_instance.route_group_for(event["rawPath"])
    loaded = {name for name in API_ROUTE_GROUPS if name in sys.modules}
    assert loaded == ({group} if group else set(API_ROUTE_GROUPS))


def test_the_openapi_document_lists_exactly_the_template_routes(new_instance: ModuleType) -> None:
    # Given a new instance / When the first request asks for the API document
    result = new_instance.handler(api_event("get_openapi"), LocalLambdaContext())
    document = json.loads(result["body"])
    # Then it documents every route API Gateway sends to the function, and no other
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == _template_routes() - {("get", "/v1/openapi.json")}


def test_a_route_behind_a_named_stage_answers_as_the_first_request(new_instance: ModuleType) -> None:
    # Given an API deployed on a named stage, whose paths then start with /prod
    event = api_event("list_alerts")
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = "/prod" + event["rawPath"]
    # When such a request is the first of a new instance
    result = new_instance.handler(event, LocalLambdaContext())
    # Then its group is found under the stage and the route answers
    assert result["statusCode"] == 200, result["body"]
    assert sys.modules.get("alert_routes") is not None


def test_a_route_group_that_fails_to_load_answers_500_in_the_error_shape_then_recovers(
    new_instance: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a new instance whose alert routes fail to import once (a bad deploy, a full /tmp)
    real_import = importlib.import_module
    failures = ["alert_routes"]

    def import_module(name: str, package: str | None = None) -> ModuleType:
        if name in failures:
            failures.remove(name)
            raise ImportError(f"cannot import {name}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    # When a request for them arrives
    first = new_instance.handler(api_event("list_alerts"), LocalLambdaContext())
    # Then the caller gets the documented 500, nothing internal
    assert first["statusCode"] == 500
    assert json.loads(first["body"])["error"]["code"] == "internal_error"
    assert "cannot import" not in first["body"]
    # And the next request loads the group and is answered
    assert new_instance.handler(api_event("list_alerts"), LocalLambdaContext())["statusCode"] == 200


def test_the_openapi_document_is_the_same_whichever_route_came_first(new_instance: ModuleType) -> None:
    # Given an instance that served a usage request before the document
    new_instance.handler(api_event("usage_summary"), LocalLambdaContext())
    served_later = new_instance.handler(api_event("get_openapi"), LocalLambdaContext())["body"]
    # When another new instance serves the document first
    for name in API_MODULES:
        sys.modules.pop(name, None)
    fresh = importlib.import_module("policy_api_app")
    served_first = fresh.handler(api_event("get_openapi"), LocalLambdaContext())["body"]
    # Then both documents are the same bytes (clients and caches can compare them)
    assert served_later == served_first
