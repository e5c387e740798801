from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import policy_api_app
from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.sample_events import api_event
from tests.support.aws import AwsResources
from tests.support.usage_stream import UsageStreamDriver


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


def invoke_api(event: dict[str, Any]) -> ApiResponse:
    result = policy_api_app.handler(event, LocalLambdaContext())
    raw = result.get("body") or ""
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return ApiResponse(int(result["statusCode"]), headers, json.loads(raw) if raw else None)


@pytest.fixture
def api(aws: AwsResources, fresh_handlers: None) -> Callable[..., ApiResponse]:
    """Calls the real PolicyApiFunction handler with a sample event from events/policy_api."""

    def call(name: str, **changes: Any) -> ApiResponse:
        return invoke_api(api_event(name, **changes))

    return call


@pytest.fixture
def usage_stream(aws: AwsResources, fresh_handlers: None) -> UsageStreamDriver:
    return UsageStreamDriver(aws)
