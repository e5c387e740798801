"""Lambda's retry of a stream batch with partial failures, for the test drivers of both streams."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def retry_from_lowest_failure(
    invoke: Callable[[list[dict[str, Any]]], dict[str, Any]],
    records: list[dict[str, Any]],
    sequence_number: Callable[[dict[str, Any]], str],
    max_attempts: int,
) -> int:
    """Re-invokes from the lowest reported failure until none is left; returns the invocations."""
    pending = records
    for attempt in range(1, max_attempts + 1):
        if not pending:
            return attempt - 1
        result = invoke(pending)
        failures = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        if not failures:
            return attempt
        lowest = min(int(f) for f in failures)
        pending = [r for r in pending if int(sequence_number(r)) >= lowest]
    raise AssertionError(f"still failing after {max_attempts} invocations")
