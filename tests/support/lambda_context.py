from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeLambdaContext:
    """What Powertools reads from Lambda's context object."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
