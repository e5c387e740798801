"""The local stack as a subprocess (`budget-service local`), driven only through HTTP, the SDK and
boto3 against its endpoint, the way a user on a laptop drives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from budget_service.local.api_client import ApiClient
from budget_service.local.stack import free_port
from budget_service.templates.model import PROJECT_ROOT

START_TIMEOUT_SECONDS = 90


def budget_service(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "budget_service.cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class LocalStack:
    ready: dict[str, Any]
    state_dir: Path
    process: subprocess.Popen[str]

    def token(self, tenant: str, roles: str = "admin,service,viewer", ttl: int = 3600) -> str:
        result = budget_service(
            "token",
            "--tenant",
            tenant,
            "--roles",
            roles,
            "--ttl",
            str(ttl),
            "--state-dir",
            str(self.state_dir),
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def api(self, tenant: str, roles: str = "admin,service,viewer") -> ApiClient:
        return ApiClient(self.ready["api_url"], self.token(tenant, roles))

    def client(self, service: Any) -> Any:
        return boto3.client(
            service,
            region_name=self.ready["region"],
            endpoint_url=self.ready["aws_endpoint_url"],
            aws_access_key_id="e2e",
            aws_secret_access_key="e2e",
        )


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One stack per test module: the fuzzer's traffic never slows another module's stream."""
    state_dir = tmp_path_factory.mktemp("local-stack")
    ready_file = state_dir / "ready.json"
    log = (state_dir / "local.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "budget_service.cli", "local",
            "--api-port", str(free_port()), "--aws-port", str(free_port()),
            "--ready-file", str(ready_file), "--state-dir", str(state_dir),
        ],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the local stack did not start:\n" + (state_dir / "local.log").read_text())
        time.sleep(0.2)
    stack = LocalStack(json.loads(ready_file.read_text()), state_dir, process)
    yield stack
    # It stops cleanly on SIGTERM, removes its ready file and leaves nothing behind
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, (state_dir / "local.log").read_text()[-3000:]
    log.close()
    assert not ready_file.exists()


def wait_for(condition: Any, timeout: float = 30.0, interval: float = 0.3) -> Any:
    """Polls ``condition`` until it returns something truthy (the stream pollers run on their own)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
