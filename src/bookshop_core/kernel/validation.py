"""Small helpers that check many inputs and report every bad field at once."""

from __future__ import annotations

import enum
from typing import Final

from bookshop_core.errors import FieldError, ValidationError

__all__ = ["UNSET", "Problems", "Unset", "has_lone_surrogates"]


class Unset(enum.Enum):
    """Marks a field absent from a PATCH-style command (as opposed to ``None``, "clear it")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET


def has_lone_surrogates(value: str) -> bool:
    """Whether ``value`` holds an unpaired UTF-16 surrogate (JSON's ``"\\ud800"`` decodes to
    one): not text, UTF-8 cannot encode it, so once stored it would break every response
    showing it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Problems:
    """Collects field errors, then raises them together as one :class:`ValidationError`."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, msg: str, type_: str = "value_error") -> None:
        self.errors.append(FieldError((field,), msg, type_))

    def absorb(self, error: ValidationError) -> None:
        self.errors.extend(error.errors)

    def text(
        self,
        field: str,
        value: str | None,
        *,
        max_length: int,
        min_length: int = 1,
        nullable: bool = False,
    ) -> str | None:
        """Strip ``value`` and check its length; ``None`` passes only when ``nullable``.

        Empty optional text becomes ``None`` so that "" and null mean the same thing.
        """
        if value is None:
            if not nullable:
                self.add(field, "may not be null", "missing")
            return None
        if not isinstance(value, str):
            self.add(field, "must be a string", "type_error")
            return None
        if "\x00" in value:
            self.add(field, "must not contain NUL characters")
            return None
        if has_lone_surrogates(value):
            self.add(field, "must be valid Unicode (no lone surrogates)")
            return None
        stripped = value.strip()
        if nullable and not stripped:
            return None
        if len(stripped) < min_length:
            self.add(field, f"must have at least {min_length} character(s)")
        elif len(stripped) > max_length:
            self.add(field, f"must have at most {max_length} characters")
        return stripped

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
