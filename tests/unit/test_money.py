from __future__ import annotations

from decimal import Decimal

import pytest

from budget_core.domain.shared.money import format_money, parse_money


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("12.50", Decimal("12.50")), ("3", Decimal(3)), (7, Decimal(7)), ("0.0000001", Decimal("0.0000001"))],
)
def test_decimal_strings_and_integers_are_amounts(sent: object, expected: Decimal) -> None:
    assert parse_money(sent) == expected


@pytest.mark.parametrize(
    "sent",
    [
        12.5,
        True,
        "abc",
        "NaN",
        "Infinity",
        "",
        None,
        "1.12345678901",
        [1],
        "1_000",
        "1E+3",
        " 3 ",
        "\u0661\u0662",
    ],
)
def test_floats_and_non_amounts_are_refused(sent: object) -> None:
    with pytest.raises(ValueError, match=r"must"):
        parse_money(sent)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("12.5"), "12.50"),
        (Decimal("12.500"), "12.50"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("3"), "3.00"),
        (Decimal("2.50E+3"), "2500.00"),
        (Decimal("0.123456"), "0.123456"),
    ],
)
def test_money_is_written_in_plain_notation_with_at_least_cents(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text
