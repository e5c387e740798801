"""Plain Python values to and from DynamoDB's attribute-value JSON, numbers as Decimal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class _PlainNumberSerializer(TypeSerializer):
    """Numbers always in plain notation: Decimal arithmetic makes ``0E-7`` or ``1.2E+3``, which
    moto refuses to add to and which reads back in that form."""

    def _serialize_n(self, value: Any) -> str:
        number = DYNAMODB_CONTEXT.create_decimal(value)
        if not number.is_finite():
            raise TypeError("Infinity and NaN not supported")
        return format(number, "f")


_serializer = _PlainNumberSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}
