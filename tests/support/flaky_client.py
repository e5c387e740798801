"""A boto3 client that fails chosen calls the way AWS does, then behaves like the real (moto) one.

moto never throttles, never cancels a transaction for a conflict and never rejects part of a
PutRecords: these answers have to be staged to test the code that handles them.
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


class FlakyClient:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.failures: dict[str, list[Callable[[dict[str, Any]], Exception | None]]] = {}
        self.interceptors: dict[str, list[Callable[[dict[str, Any], Callable[..., Any]], Any]]] = {}
        self.calls: dict[str, int] = {}

    def fail_next(self, operation: str, *errors: Callable[[dict[str, Any]], Exception | None]) -> None:
        """Queue failures for the next calls of ``operation``; a callable may return None to pass."""
        self.failures.setdefault(operation, []).extend(errors)

    def intercept_next(
        self, operation: str, *handlers: Callable[[dict[str, Any], Callable[..., Any]], Any]
    ) -> None:
        """The next calls of ``operation`` go to ``handler(kwargs, real_call)``, which answers them."""
        self.interceptors.setdefault(operation, []).extend(handlers)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._real, name)
        if not callable(real):
            return real

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            interceptors = self.interceptors.get(name)
            if interceptors:
                return interceptors.pop(0)(kwargs, real)
            queued = self.failures.get(name)
            if queued:
                error = queued.pop(0)(kwargs)
                if error is not None:
                    raise error
            return real(**kwargs)

        return call


def reject_every_other_record(kwargs: dict[str, Any], real: Callable[..., Any]) -> dict[str, Any]:
    """PutRecords as Kinesis answers when shards throttle: some records in, the others rejected."""
    records = kwargs["Records"]
    kept = records[::2]
    response = real(**{**kwargs, "Records": kept})
    results: list[dict[str, Any]] = []
    accepted = iter(response["Records"])
    for index in range(len(records)):
        if index % 2 == 0:
            results.append(next(accepted))
        else:
            results.append(
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
            )
    return {"FailedRecordCount": len(records) // 2, "Records": results}


def reject_all_records(kwargs: dict[str, Any], real: Callable[..., Any]) -> dict[str, Any]:
    del real
    rejected = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
    return {
        "FailedRecordCount": len(kwargs["Records"]),
        "Records": [dict(rejected) for _ in kwargs["Records"]],
    }
