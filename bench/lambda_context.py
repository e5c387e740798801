"""A Lambda context object for benchmark invocations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Context:
    function_name: str = "UsageIngestFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:UsageIngestFunction"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def context() -> _Context:
    return _Context()
