"""Which AWS answers mean "unavailable, try again", and the one place that turns them into
``StoreUnavailable``: every store adapter (DynamoDB) calls AWS through ``guarded(client)``, so no
caller above the adapters knows an AWS error code. The adapters that publish (SNS, EventBridge,
Kinesis, SQS) take every AWS failure as their own outcome (a delivery failed, a record to retry)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from budget_core.domain.shared.errors import StoreUnavailable

# error codes of a whole request (DynamoDB, Kinesis, SQS, SNS, EventBridge)
BUSY_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TransactionConflictException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)
# cancellation reasons of one action inside TransactWriteItems
BUSY_CANCELLATION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
# what a client exposes that is not a call to AWS
_NOT_CALLS = frozenset({"meta", "exceptions", "can_paginate", "get_paginator", "get_waiter", "close"})

C = TypeVar("C")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_busy(error: ClientError) -> bool:
    return error_code(error) in BUSY_ERROR_CODES


class _Guarded:
    """A boto3 client whose calls raise ``StoreUnavailable`` for throttling, AWS-side failures,
    timeouts and dropped connections, after botocore's own retries."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._calls: dict[str, Callable[..., Any]] = {}

    def __getattr__(self, name: str) -> Any:
        call = self._calls.get(name)
        if call is not None:
            return call
        attribute = getattr(self._client, name)
        if name in _NOT_CALLS or name.startswith("_") or not callable(attribute):
            return attribute
        call = self._calls[name] = _guard(attribute, name)
        return call


def _guard(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ClientError as error:
            if is_busy(error):
                raise StoreUnavailable(f"{name}: {error_code(error)}") from error
            raise
        except (ConnectionError, HTTPClientError) as error:  # timeouts, resets, unreachable endpoints
            raise StoreUnavailable(f"{name}: {type(error).__name__}") from error

    return call


def guarded(client: C) -> C:
    """``client`` with every AWS call guarded (idempotent: a guarded client is returned as is)."""
    if isinstance(client, _Guarded):
        return client
    return _Guarded(client)  # type: ignore[return-value]
