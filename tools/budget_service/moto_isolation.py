"""Gives moto's DynamoDB the isolation real DynamoDB has.

DynamoDB applies each conditional write and each transaction atomically: of two racing
``attribute_not_exists`` puts, one fails. moto checks conditions and then writes in plain Python,
so two threads can both pass the check (seen: 4 of 8 racing creates "won"). Serializing moto's item
operations behind one lock restores DynamoDB's guarantee for tests and the local stack; it cannot
hide a read-then-write bug in our code, because our reads and writes remain separate calls.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
)


def serialize_dynamodb_operations() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_budget_serialized", False):
            continue

        @functools.wraps(original)
        def serialized(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return _original(self, *args, **kwargs)

        serialized._budget_serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialized)
