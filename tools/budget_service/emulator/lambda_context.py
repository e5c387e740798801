"""The context object Lambda passes to a handler, for running handlers outside Lambda (tests, the
demo, benchmarks, the local stack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4


@dataclass
class LocalLambdaContext:
    function_name: str = "local-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:local-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid4()))
    timeout_seconds: int = 60

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000
