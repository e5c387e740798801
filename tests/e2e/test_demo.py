"""The README's first command: the demo runs to its summary and exits 0."""

from __future__ import annotations

import subprocess
import sys

from budget_service.template import PROJECT_ROOT


def test_the_demo_runs_the_policy_story_and_exits_zero() -> None:
    # Given a fresh process / When the demo runs
    result = subprocess.run(
        [sys.executable, "-m", "budget_service.cli", "demo"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then every step of its summary passed
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.split("== Summary", 1)[1]
    assert "FAIL" not in summary
    for step in (
        "policy created",
        "conflict detected",
        "tenant isolation",
        "roles enforced",
        "the producer retry counted once",
        "bad record dead-lettered",
    ):
        assert f"ok  {step}" in summary
