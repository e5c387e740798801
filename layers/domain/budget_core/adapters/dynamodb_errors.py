"""Which DynamoDB answers mean "busy, try again": one list for every adapter and the HTTP mapping."""

from __future__ import annotations

from botocore.exceptions import ClientError

# error codes of a whole request
BUSY_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# cancellation reasons of one action inside TransactWriteItems
BUSY_CANCELLATION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_busy(error: ClientError) -> bool:
    return error_code(error) in BUSY_ERROR_CODES
