"""The one builder of DynamoDB update requests: SET, ADD and REMOVE clauses and their conditions
from plain attribute names and values, with every placeholder made here.

Hand-built expressions drift (a placeholder reused for two names, a clause left out when a list is
empty) and grow unseen: DynamoDB refuses an expression string over 4 KB, which moto does not check,
so the builder does, before the request leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from budget_core.adapters.shared.dynamodb_codec import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        ConditionCheckTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

# DynamoDB's limit on each expression string (update and condition), in bytes.
MAX_EXPRESSION_BYTES = 4096


class ExpressionTooLong(ValueError):
    """An expression DynamoDB would refuse: a caller let something grow without bound."""


class ItemUpdate:
    """One item's update. Attributes are named as stored; ``None`` values are not written."""

    def __init__(self, table: str, key: Mapping[str, Any]) -> None:
        self._table = table
        self._key = dict(key)
        self._names: dict[str, str] = {}
        self._placeholders: dict[str, str] = {}
        self._values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._adds: list[str] = []
        self._removes: list[str] = []
        self._conditions: list[str] = []

    # -- placeholders ------------------------------------------------------------------------

    def name(self, attribute: str) -> str:
        """The placeholder of ``attribute`` (the same one each time), for a hand-written condition."""
        placeholder = self._placeholders.get(attribute)
        if placeholder is None:
            placeholder = self._placeholders[attribute] = f"#n{len(self._placeholders)}"
            self._names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = value
        return placeholder

    # -- clauses -----------------------------------------------------------------------------

    def set(self, attribute: str, value: Any) -> ItemUpdate:
        if value is not None:
            self._sets.append(f"{self.name(attribute)} = {self.value(value)}")
        return self

    def set_if_absent(self, attribute: str, value: Any) -> ItemUpdate:
        """Written once: a later update leaves the first value."""
        name = self.name(attribute)
        self._sets.append(f"{name} = if_not_exists({name}, {self.value(value)})")
        return self

    def set_all(self, values: Mapping[str, Any]) -> ItemUpdate:
        for attribute, value in values.items():
            self.set(attribute, value)
        return self

    def add(self, attribute: str, amount: Any) -> ItemUpdate:
        self._adds.append(f"{self.name(attribute)} {self.value(amount)}")
        return self

    def add_all(self, amounts: Mapping[str, Any]) -> ItemUpdate:
        for attribute, amount in amounts.items():
            self.add(attribute, amount)
        return self

    def remove(self, *attributes: str) -> ItemUpdate:
        self._removes.extend(self.name(attribute) for attribute in attributes)
        return self

    def remove_all(self, attributes: Iterable[str]) -> ItemUpdate:
        return self.remove(*attributes)

    # -- conditions (all must hold) -------------------------------------------------------------

    def require(self, condition: str) -> ItemUpdate:
        """A condition written with this builder's ``name`` and ``value`` placeholders."""
        self._conditions.append(condition if " OR " not in condition else f"({condition})")
        return self

    def require_absent(self, attribute: str) -> ItemUpdate:
        return self.require(f"attribute_not_exists({self.name(attribute)})")

    def require_present(self, attribute: str) -> ItemUpdate:
        return self.require(f"attribute_exists({self.name(attribute)})")

    def require_equal(self, attribute: str, value: Any) -> ItemUpdate:
        return self.require(f"{self.name(attribute)} = {self.value(value)}")

    def require_version(self, attribute: str, expected: int | None) -> ItemUpdate:
        """Optimistic concurrency: ``attribute`` is still ``expected`` (absent when None)."""
        if expected is None:
            return self.require_absent(attribute)
        return self.require_equal(attribute, expected)

    # -- the request -------------------------------------------------------------------------

    def _checked(self, text: str) -> str:
        size = len(text.encode())
        if size > MAX_EXPRESSION_BYTES:
            raise ExpressionTooLong(
                f"a {size}-byte expression on {self._key}: DynamoDB allows {MAX_EXPRESSION_BYTES}"
            )
        return text

    def expression(self) -> str:
        parts = []
        for verb, clauses in (("SET", self._sets), ("ADD", self._adds), ("REMOVE", self._removes)):
            if clauses:
                parts.append(f"{verb} {', '.join(clauses)}")
        if not parts:
            raise ValueError("an update with nothing to change")
        return " ".join(parts)

    def request(self, *, return_old_on_failure: bool = False) -> UpdateTypeDef:
        """The ``Update`` of a transaction, which is also ``update_item``'s keyword arguments."""
        expression = self._checked(self.expression())
        condition = self._checked(" AND ".join(self._conditions))
        update: UpdateTypeDef = {**self._addressing(), "UpdateExpression": expression}  # type: ignore[typeddict-item]
        if condition:
            update["ConditionExpression"] = condition
            if return_old_on_failure:
                update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return update

    def condition_check(self) -> TransactWriteItemTypeDef:
        """Only this update's conditions, as a ConditionCheck of a transaction (nothing written)."""
        condition = self._checked(" AND ".join(self._conditions))
        if not condition:
            raise ValueError("a condition check with no condition")
        check: ConditionCheckTypeDef = {**self._addressing(), "ConditionExpression": condition}  # type: ignore[typeddict-item]
        return {"ConditionCheck": check}

    def _addressing(self) -> dict[str, Any]:
        """Table, key and placeholders: what an update and a condition check share."""
        addressed: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(self._key),
            "ExpressionAttributeNames": dict(self._names),
        }
        values = to_item(self._values)
        if values:
            addressed["ExpressionAttributeValues"] = values
        return addressed

    def action(self, *, return_old_on_failure: bool = False) -> TransactWriteItemTypeDef:
        """This update as one action of a TransactWriteItems."""
        return {"Update": self.request(return_old_on_failure=return_old_on_failure)}
