"""API fuzzing: schemathesis generates requests from GET /v1/openapi.json of the local stack and
sends them with a valid token of each role. No answer may be a 5xx, every answer must match the
documented schema, status code, content type and headers. The seed is fixed so that CI is
reproducible; set FUZZ_SEED to explore others and FUZZ_EXAMPLES for more cases per operation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStack

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
# (role, cases per operation): the admin run reaches every route with the most cases
RUNS = [("admin,service,viewer", 40), ("viewer", 12), ("service", 12)]
MIN_ADMIN_CASES = 500


@pytest.mark.parametrize(("roles", "examples"), RUNS, ids=[r for r, _ in RUNS])
def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(
    local_stack: LocalStack, tmp_path: Path, roles: str, examples: int
) -> None:
    token = local_stack.token(f"fuzz-{roles.split(',')[0]}", roles)
    examples = int(os.environ.get("FUZZ_EXAMPLES", examples))
    schema_url = f"{local_stack.ready['api_url']}/v1/openapi.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")), "run", schema_url,
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--phases", "examples,fuzzing,stateful",
            "--max-examples", str(examples),
            "--seed", os.environ.get("FUZZ_SEED", "20261129"),
            "--workers", "4",
            "--no-color",
            "--request-timeout", "20",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-2000:]
    if roles.startswith("admin"):
        assert int(generated.group(1)) >= MIN_ADMIN_CASES, output[-1500:]
