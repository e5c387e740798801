"""Each function checks its own settings during init, and a missing one is named there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from budget_core.platform.settings import ApiSettings, IngestSettings, MissingSettings
from budget_service.templates.model import PROJECT_ROOT
from tests.support.aws import TEST_ENVIRONMENT

FUNCTIONS = {
    "policy_api_app": ("policy_api", "PolicyApiFunction", "USAGE_STREAM_NAME"),
    "usage_ingest_app": ("usage_ingest", "UsageIngestFunction", "USAGE_DLQ_URL"),
    "alerts_app": ("alerts", "AlertFunction", "ALERT_DLQ_URL"),
    "alert_redelivery_app": ("alerts", "AlertRedeliveryFunction", "ALERT_TOPIC_ARN"),
}


def _import(module: str, folder: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(
        [str(PROJECT_ROOT / "layers" / "domain"), str(PROJECT_ROOT / "functions" / folder)]
    )
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env={"PATH": os.environ.get("PATH", ""), **environment, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("module", sorted(FUNCTIONS))
def test_a_function_missing_a_required_setting_fails_its_init_naming_it(module: str) -> None:
    folder, function, required = FUNCTIONS[module]
    # Given the function's environment without one variable it cannot run without
    environment = {k: v for k, v in TEST_ENVIRONMENT.items() if k != required}
    # When its module is loaded (Lambda's init)
    loaded = _import(module, folder, environment)
    # Then init fails, naming the function and the variable
    assert loaded.returncode != 0
    assert "MissingSettings" in loaded.stderr
    assert f"{function} cannot start: set {required}" in loaded.stderr
    # And with it, init succeeds
    assert _import(module, folder, dict(TEST_ENVIRONMENT)).returncode == 0


def test_an_invalid_value_is_named_like_a_missing_one() -> None:
    with pytest.raises(MissingSettings, match="USAGE_RETENTION_DAYS"):
        IngestSettings.from_environ(
            {"TABLE_NAME": "table", "USAGE_DLQ_URL": "q", "USAGE_RETENTION_DAYS": "7"}
        )


def test_settings_read_only_their_own_variables() -> None:
    settings = ApiSettings.from_environ(
        {"TABLE_NAME": "table", "EVENT_BUS_NAME": "bus", "USAGE_STREAM_NAME": "stream", "TENANT_CLAIM": "org"}
    )
    assert (settings.table_name, settings.tenant_claim, settings.max_body_bytes) == ("table", "org", 262_144)
