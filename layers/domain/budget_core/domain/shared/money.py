"""Money is Decimal on every path; JSON carries it as a decimal string (docs/contracts.md, invariant 2)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MAX_MONEY = Decimal("1000000000000")  # $1e12: beyond any real budget, well inside DynamoDB's 38 digits
MONEY_PLACES = 10  # providers price per token in fractions of a micro-dollar
# ASCII digits only: Decimal() would also take "1_000", "1E+3" and other scripts' digits.
_DECIMAL_TEXT = re.compile(r"^-?[0-9]{1,16}(\.[0-9]{1,32})?$")


def parse_money(value: Any) -> Decimal:
    """Accept a decimal string or an int; refuse floats, whose binary value is not the sent amount."""
    if isinstance(value, Decimal):
        decimal = value
    elif isinstance(value, bool):
        raise ValueError('must be a decimal string such as "12.50"')
    elif isinstance(value, int):
        decimal = Decimal(value)
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise ValueError('must be a decimal string such as "12.50"')
        decimal = Decimal(value)
    else:
        raise ValueError('must be a decimal string such as "12.50" (floats lose cents)')
    if not decimal.is_finite():
        raise ValueError("must be a finite amount")
    exponent = decimal.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MONEY_PLACES:
        raise ValueError(f"must have at most {MONEY_PLACES} decimal places")
    return decimal


_PLACES = Decimal(1).scaleb(-MONEY_PLACES)
_CENTS = Decimal("0.01")
# Percents in answers stop here: spend at a million percent of a limit says all there is to say.
MAX_PERCENT = Decimal("1000000.00")


def round_money(amount: Decimal) -> Decimal:
    """``amount`` at MONEY_PLACES places, half-even: every cost is rounded so before it is counted,
    so sums stay exact and every stored amount can be answered."""
    if amount.is_finite() and abs(amount) < MAX_MONEY * 1000:
        return amount.quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    return amount


def percent_of(spent: Decimal, limit: Decimal) -> Decimal:
    """``spent`` as a percent of ``limit`` at two places, bounded by MAX_PERCENT (and 0 below)."""
    if limit <= 0 or spent * 100 >= MAX_PERCENT * limit:
        return MAX_PERCENT
    if spent <= 0:
        return Decimal("0.00")
    return (spent * 100 / limit).quantize(_CENTS, rounding=ROUND_HALF_EVEN)


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
