"""A DynamoDB client that fails chosen calls the way DynamoDB does, then behaves like the real one.

moto never throttles and never cancels a transaction for a conflict (DESIGN field notes): these
answers have to be staged to test the code that handles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def cancelled(codes: list[str]) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


def throttled(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, operation
    )


class FlakyDynamoDB:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.failures: dict[str, list[Callable[[dict[str, Any]], Exception | None]]] = {}
        self.calls: dict[str, int] = {}

    def fail_next(self, operation: str, *errors: Callable[[dict[str, Any]], Exception | None]) -> None:
        """Queue failures for the next calls of ``operation``; a callable may return None to pass."""
        self.failures.setdefault(operation, []).extend(errors)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._real, name)
        if not callable(real):
            return real

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            queued = self.failures.get(name)
            if queued:
                error = queued.pop(0)(kwargs)
                if error is not None:
                    raise error
            return real(**kwargs)

        return call
