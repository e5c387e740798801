"""Strongly consistent BatchGetItem of any number of keys: chunks of 100, unprocessed keys retried
with backoff, a busy table reported as StoreUnavailable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from budget_core.adapters.shared.dynamodb_codec import from_item
from budget_core.domain.shared.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX = 100
ATTEMPTS = 6


def consistent_batch_get(
    client: DynamoDBClient, table: str, keys: Sequence[Any], what: str
) -> list[dict[str, Any]]:
    """The items found at ``keys`` (attribute values), decoded; ``what`` names them in errors."""
    found: list[dict[str, Any]] = []
    pending = list(keys)
    for attempt in range(ATTEMPTS):
        if not pending:
            return found
        chunk, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
        response = client.batch_get_item(RequestItems={table: {"Keys": chunk, "ConsistentRead": True}})
        found.extend(from_item(raw) for raw in response.get("Responses", {}).get(table, []))
        left: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
        unprocessed = list((left.get(table) or {}).get("Keys", []))
        if unprocessed:
            pending = unprocessed + pending
            time.sleep(0.01 * 2**attempt)
    if pending:
        raise StoreUnavailable(f"{what} left unprocessed")
    return found
