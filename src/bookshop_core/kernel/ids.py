"""Ids are positive integers assigned by the store."""

from __future__ import annotations

from bookshop_core.errors import ValidationError

__all__ = ["MAX_ID", "check_id"]

#: Ids fit a signed 64-bit column on every backend.
MAX_ID = 2**63 - 1


def check_id(value: object, field: str) -> int:
    """Return ``value`` when it is a plausible store id.

    Raises:
        ValidationError: not an int, not positive, or too large for any column.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError.single(field, "must be an integer id", "type_error")
    if not 1 <= value <= MAX_ID:
        raise ValidationError.single(field, "must be a positive integer id")
    return value
