"""Money is exact: ``Decimal`` in the API, integer minor units (cents) in storage."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bookshop_core.errors import ValidationError

__all__ = ["CENT", "MAX_PRICE", "cents_to_money", "money_to_cents", "parse_money", "quantize_money"]

CENT = Decimal("0.01")
#: The largest price the shop accepts; keeps every sum of line totals far inside a 64-bit integer.
MAX_PRICE = Decimal("1000000.00")


def parse_money(
    value: object, *, field: str = "price", maximum: Decimal = MAX_PRICE, positive: bool = True
) -> Decimal:
    """Turn untrusted input (``Decimal``, ``int`` or a numeric string) into an exact amount.

    Floats are accepted only when they round-trip to at most two decimals exactly as written
    (``15.99`` yes, ``0.1 + 0.2`` no), because JSON clients send numbers.

    Raises:
        ValidationError: not a number, not finite, more than two decimals, out of range.
    """
    if isinstance(value, bool):
        raise ValidationError.single(field, "must be a decimal amount", "type_error")
    try:
        if isinstance(value, Decimal):
            amount = value
        elif isinstance(value, int):
            amount = Decimal(value)
        elif isinstance(value, float):
            amount = Decimal(repr(value))
        elif isinstance(value, str) and len(value) <= 32:
            amount = Decimal(value.strip())
        else:
            raise ValidationError.single(field, "must be a decimal amount", "type_error")
    except InvalidOperation:
        raise ValidationError.single(field, "must be a decimal amount", "type_error") from None
    if not amount.is_finite():
        raise ValidationError.single(field, "must be a finite amount")
    # Range first: quantizing a huge amount (e.g. "1e30") overflows the decimal context.
    if positive and amount <= 0:
        raise ValidationError.single(field, "must be greater than 0")
    if not positive and amount < 0:
        raise ValidationError.single(field, "must not be negative")
    if amount > maximum:
        raise ValidationError.single(field, f"must be at most {maximum}")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError.single(field, "must have at most 2 decimal places")
    return amount.quantize(CENT)


def quantize_money(amount: Decimal) -> Decimal:
    """Round a computed amount to cents, half-up (the rounding shops print on receipts)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_to_cents(amount: Decimal) -> int:
    """Exact conversion to integer minor units; ``amount`` must already be a whole cent."""
    return int(amount.quantize(CENT) * 100)


def cents_to_money(cents: int) -> Decimal:
    """Integer minor units back to a two-decimal ``Decimal``."""
    return (Decimal(cents) / 100).quantize(CENT)
