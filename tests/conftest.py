from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from budget_core.platform.settings import forget_settings
from budget_service.emulator.moto_isolation import serialize_dynamodb_operations
from tests.support.aws import TEST_ENVIRONMENT, AwsResources, create_resources
from tests.support.handlers import clear_handler_caches

serialize_dynamodb_operations()
# LiteLLM (budget_sdk.litellm's tests) reads its price map from the package, never the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The handler modules check their settings at import (their init), and test modules import them.
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    forget_settings()


@pytest.fixture
def aws() -> Iterator[AwsResources]:
    with mock_aws():
        yield create_resources()


@pytest.fixture
def fresh_handlers() -> Iterator[None]:
    """Each test starts from a cold start of every handler (no cached clients or tenant configs)."""
    clear_handler_caches()
    yield
    clear_handler_caches()
