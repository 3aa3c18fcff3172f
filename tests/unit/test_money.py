"""Money is exact: parsing untrusted amounts, rounding, and cents conversion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bookshop_core import ValidationError
from bookshop_core.kernel import cents_to_money, money_to_cents, parse_money, quantize_money
from bookshop_core.kernel.money import MAX_PRICE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15.99", "15.99"),
        (" 15.9 ", "15.90"),
        ("15", "15.00"),
        (15, "15.00"),
        (15.99, "15.99"),
        (0.1, "0.10"),
        (Decimal("1.50"), "1.50"),
        ("1E+2", "100.00"),
        ("0.01", "0.01"),
        (str(MAX_PRICE), str(MAX_PRICE)),
    ],
)
def test_valid_amounts_parse_to_exact_two_decimal_amounts(raw: object, expected: str) -> None:
    """Strings, ints, plain floats and Decimals become a two-decimal Decimal, exactly."""
    amount = parse_money(raw)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (True, "decimal amount"),
        (None, "decimal amount"),
        ([1], "decimal amount"),
        ("abc", "decimal amount"),
        ("1" * 40, "decimal amount"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        (float("inf"), "finite"),
        ("1.001", "2 decimal places"),
        (0.1 + 0.2, "2 decimal places"),
        ("0", "greater than 0"),
        ("-5", "greater than 0"),
        ("1000000.01", "at most"),
        ("1e30", "at most"),
        ("1e999999", "at most"),
        ("-1e999999", "greater than 0"),
    ],
)
def test_invalid_amounts_are_validation_errors(raw: object, reason: str) -> None:
    """Every malformed or out-of-range amount is a ValidationError, never a decimal error."""
    with pytest.raises(ValidationError) as caught:
        parse_money(raw, field="price")
    assert caught.value.field == "price"
    assert reason in caught.value.message


def test_non_positive_amounts_may_be_allowed() -> None:
    """With ``positive=False`` zero is fine and only negatives are refused."""
    assert parse_money("0", positive=False) == Decimal("0.00")
    with pytest.raises(ValidationError, match="must not be negative"):
        parse_money("-0.01", positive=False)


def test_quantize_money_rounds_half_up() -> None:
    """Computed amounts round to cents the way receipts do (half up)."""
    assert quantize_money(Decimal("0.125")) == Decimal("0.13")
    assert quantize_money(Decimal("0.124")) == Decimal("0.12")
    assert quantize_money(Decimal("-0.125")) == Decimal("-0.13")


@pytest.mark.parametrize("text", ["0.00", "0.01", "19.99", "1000000.00", "123.40"])
def test_cents_round_trip(text: str) -> None:
    """Amounts convert to integer cents and back without loss."""
    cents = money_to_cents(Decimal(text))
    assert isinstance(cents, int)
    assert cents_to_money(cents) == Decimal(text)
    assert str(cents_to_money(cents)) == text
