"""The README's first command: the demo runs the whole job on the local stack and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from budget_service.templates.model import PROJECT_ROOT


def test_the_demo_runs_the_whole_job_and_exits_zero() -> None:
    # Given a fresh process / When the demo runs
    result = subprocess.run(
        [sys.executable, "-m", "budget_service.cli", "demo"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"},
    )
    # Then every step passed, and the story's key moments are in its output
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    out = result.stdout
    counted = re.search(r"(\d+) of (\d+) steps ok", out)
    assert counted, out[-2000:]
    assert counted.group(1) == counted.group(2)
    assert "FAIL" not in out
    for step in (
        "ok  the same scope and period again is a conflict",
        "ok  no token: refused by the authorizer",
        "ok  every event counted exactly once (480 of 480)",
        "ok  alerts arrived, each once",
        "ok  check: allow, then deny (allow -> deny)",
        "ok  a $0.40 reservation is refused (HTTP 409 budget_exceeded)",
    ):
        assert step in out, step
    assert re.search(r"reached (50|80|100)%", out), "no alert shown in the live view"
