"""Money is Decimal on every path; JSON carries it as a decimal string (DESIGN invariant 2)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MAX_MONEY = Decimal("1000000000000")  # $1e12: beyond any real budget, well inside DynamoDB's 38 digits
MONEY_PLACES = 10  # providers price per token in fractions of a micro-dollar


def parse_money(value: Any) -> Decimal:
    """Accept a decimal string or an int; refuse floats, whose binary value is not the sent amount."""
    if isinstance(value, Decimal):
        decimal = value
    elif isinstance(value, bool):
        raise ValueError('must be a decimal string such as "12.50"')
    elif isinstance(value, int):
        decimal = Decimal(value)
    elif isinstance(value, str):
        try:
            decimal = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError('must be a decimal string such as "12.50"') from None
    else:
        raise ValueError('must be a decimal string such as "12.50" (floats lose cents)')
    if not decimal.is_finite():
        raise ValueError("must be a finite amount")
    exponent = decimal.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MONEY_PLACES:
        raise ValueError(f"must have at most {MONEY_PLACES} decimal places")
    return decimal


def format_money(amount: Decimal) -> str:
    """Plain notation always: DynamoDB and moto may hand back ``1E-7`` or ``12.50`` alike."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
        whole, _, cents = text.partition(".")
        if len(cents) < 2:
            text = f"{whole}.{cents.ljust(2, '0')}"
    else:
        text = f"{text}.00"
    return text


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["12.50"]},
        mode="validation",
    ),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+\.\d+$", "examples": ["12.50"]}, mode="serialization"
    ),
]
