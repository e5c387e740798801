"""Gives moto's DynamoDB the isolation and the transaction cost of real DynamoDB.

1. Isolation. DynamoDB applies each conditional write and each transaction atomically: of two
   racing ``attribute_not_exists`` puts, one fails, and a read sees an item before or after a
   write, never half way. moto checks conditions and then writes in plain Python, so two threads
   can both pass the check (seen: 4 of 8 racing creates "won"), and it serializes a read's items
   after releasing them, so a read can see a write half applied (seen: 130 of 200 $1 holds placed
   on a $50 limit, each on a ``rev`` whose hold was not yet visible). One lock around moto's item
   operations, with reads copied inside it, restores DynamoDB's guarantees for tests and the
   local stack; it cannot hide a read-then-write bug in our code, whose reads and writes remain
   separate calls.

2. Transactions. moto 5.2.5 backs up the *whole table* with ``deepcopy`` once per action of every
   TransactWriteItems (100 actions: 100 copies of the table), so a test or local stack slows down
   as its table grows (seen: 6 s per property-test example). The replacement below checks every
   condition against the state before the transaction, then applies all writes, like DynamoDB;
   only the items it touches are restored if applying fails.

3. Numbers. moto adds ``0E-7`` (its own sum of ``0.0000000`` and ``0.0000000``) with ``int()`` and
   fails; DynamoDB stores normalized numbers. Sums are computed as Decimals and stored plain.

4. Read cost. moto 5.2.5 serializes every attribute value of a response by trying each of the ten
   members of ``AttributeValue`` (S, N, B, SS, ..., BOOL) through its alias lookups: ~75 us per
   attribute, ~1.8 ms per counter item on loopback, so a read's latency grew with the attributes
   it returned, which DynamoDB's does not at these sizes (bench/check_bench.py measured moto's
   serializer, not round trips). Only the member a value holds is serialized now, by moto's own
   code for its type: the same bytes.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_READS = ("get_item", "query", "scan", "transact_get_items")
# moto's read handlers get references to live items from the backend and turn them into JSON after
# the backend call returns: the whole handler runs under the lock, or a concurrent write shows
# through half applied.
_HANDLERS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
    errors: list[tuple[Any, Any, Any]] = []
    for action in transact_items:
        if len(action) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(action.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        key = _key_of(self.get_table(table_name), op_type, op)
        marker = (table_name, str(sorted(key.items())))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(table_name, key)
        error: tuple[Any, Any, Any] = (None, None, None)
        condition = op.get("ConditionExpression")
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
                old = current.to_json()["Attributes"] if wants_old else None
                error = ("ConditionalCheckFailed", "The conditional request failed", old)
        errors.append(error)
        # a copy taken now: moto updates items in place, so the item itself is no undo record
        plan.append((op_type, op, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    applied: list[tuple[str, dict[str, Any], Any]] = []
    for index, (op_type, op, key, current) in enumerate(plan):
        table_name = op["TableName"]
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        try:
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
        except Exception as failure:
            for undo_table, undo_key, before in reversed(applied):
                if before is None:
                    self.delete_item(undo_table, undo_key)
                else:
                    self.put_item(undo_table, before)
            reasons: list[tuple[Any, Any, Any]] = [(None, None, None)] * len(plan)
            reasons[index] = ("ValidationError", str(failure), None)
            raise TransactionCanceledException(reasons) from failure
        if op_type != "ConditionCheck":
            applied.append((table_name, key, current))


def _number(text: str) -> Decimal:
    return Decimal(text)


def _plain(total: Decimal) -> str:
    if total == total.to_integral_value():
        return str(int(total))
    return format(total.normalize(), "f")


def _patch_number_arithmetic() -> None:
    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType

    if getattr(DynamoType.__add__, "_budget_plain", False):
        return

    def add(self: Any, other: Any) -> Any:
        if self.type != other.type or not self.is_number():
            return original_add(self, other)
        return DynamoType({DDBType.NUMBER: _plain(_number(self.value) + _number(other.value))})

    def sub(self: Any, other: Any) -> Any:
        if self.type != other.type or not self.is_number():
            return original_sub(self, other)
        return DynamoType({DDBType.NUMBER: _plain(_number(self.value) - _number(other.value))})

    original_add, original_sub = DynamoType.__add__, DynamoType.__sub__
    add._budget_plain = True  # type: ignore[attr-defined]
    DynamoType.__add__ = add  # type: ignore[method-assign]
    DynamoType.__sub__ = sub  # type: ignore[method-assign]


def _under_lock(cls: Any, names: Iterable[str]) -> None:
    """Each method ``names`` of ``cls`` runs holding the one lock (once: wrapping is idempotent)."""
    for name in names:
        original = getattr(cls, name)
        if getattr(original, "_budget_serialized", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return _original(self, *args, **kwargs)

        locked._budget_serialized = True  # type: ignore[attr-defined]
        setattr(cls, name, locked)


def _patch_attribute_value_serialization() -> None:
    from moto.core import serialize

    if "json" in serialize.SERVICE_SPECIFIC_SERIALIZERS.get("dynamodb", {}):
        return

    class DynamoDBJSONSerializer(serialize.JSONSerializer):
        def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
            if shape.name != "AttributeValue" or not isinstance(value, dict) or not key:
                super()._serialize_type_structure(serialized, value, shape, key)
                return
            wrapper: dict[str, Any] = {}
            for member_key in value:  # one: the value's type
                member_shape = shape.members.get(member_key)
                if member_shape is None:
                    super()._serialize_type_structure(serialized, value, shape, key)
                    return
                member_shape.parent = shape
                self._serialize_structure_member(wrapper, value, member_shape, member_key)
            self._default_serialize(serialized, wrapper, shape, key)

    serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("dynamodb", {})["json"] = DynamoDBJSONSerializer


def serialize_dynamodb_operations() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    _patch_number_arithmetic()
    _patch_attribute_value_serialization()
    _under_lock(DynamoHandler, _HANDLERS)
    if not getattr(DynamoDBBackend.transact_write_items, "_budget_serialized", False):
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _under_lock(DynamoDBBackend, _WRITES + _READS)
