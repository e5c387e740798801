from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import policy_api_app
from budget_core.domain.shared.clock import Clock, SystemClock
from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.sample_events import api_event
from tests.support.aws import AwsResources
from tests.support.handlers import install_clock
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
def clock() -> Clock:
    """The time every function sees; a module that must not depend on the calendar overrides this
    fixture with a ``FixedClock`` (the usage stream's arrival times then follow it too)."""
    return SystemClock()


@pytest.fixture
def roots(aws: AwsResources, fresh_handlers: None, clock: Clock) -> None:
    install_clock(clock)


@pytest.fixture
def api(roots: None) -> Callable[..., ApiResponse]:
    """Calls the real PolicyApiFunction handler with a sample event from events/policy_api."""

    def call(name: str, **changes: Any) -> ApiResponse:
        return invoke_api(api_event(name, **changes))

    return call


@pytest.fixture
def usage_stream(aws: AwsResources, roots: None, clock: Clock) -> UsageStreamDriver:
    return UsageStreamDriver(aws, clock=clock)
