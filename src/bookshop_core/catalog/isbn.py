"""ISBN-10 and ISBN-13: checksum validation and normalisation to ISBN-13."""

from __future__ import annotations

from bookshop_core.errors import ValidationError

__all__ = ["isbn10_check_digit", "isbn13_check_digit", "normalize_isbn", "to_isbn10", "to_isbn13"]

_SEPARATORS = str.maketrans("", "", "- \t")
_MAX_INPUT = 32  # the longest plausible ISBN with separators; longer input is refused unparsed


def isbn10_check_digit(first9: str) -> str:
    """The check character (``0``-``9`` or ``X``) of an ISBN-10 given its first nine digits."""
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first12: str) -> str:
    """The check digit of an ISBN-13 (EAN-13) given its first twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def to_isbn13(isbn10: str) -> str:
    """Convert a valid, separator-free ISBN-10 to its ISBN-13 (prefix 978)."""
    body = "978" + isbn10[:9]
    return body + isbn13_check_digit(body)


def to_isbn10(isbn13: str) -> str | None:
    """The ISBN-10 of a valid ISBN-13 with prefix 978, or ``None`` (979 has no ISBN-10)."""
    if not isbn13.startswith("978"):
        return None
    body = isbn13[3:12]
    return body + isbn10_check_digit(body)


def normalize_isbn(raw: str, *, field: str = "isbn") -> str:
    """Validate an ISBN-10 or ISBN-13 and return it as a bare ISBN-13.

    Hyphens and spaces are ignored; a lowercase ``x`` check character is accepted.

    Raises:
        ValidationError: wrong length, stray characters, bad checksum, or not a book prefix.
    """
    if len(raw) > _MAX_INPUT:
        raise ValidationError.single(field, "is not a valid ISBN")
    compact = raw.translate(_SEPARATORS).upper()
    if len(compact) == 10 and compact[:9].isdigit() and compact[:9].isascii():
        if compact[9] != isbn10_check_digit(compact[:9]):
            raise ValidationError.single(field, "has a wrong ISBN-10 check digit")
        return to_isbn13(compact)
    if len(compact) == 13 and compact.isdigit() and compact.isascii():
        if not compact.startswith(("978", "979")):
            raise ValidationError.single(field, "must start with 978 or 979")
        if compact[12] != isbn13_check_digit(compact[:12]):
            raise ValidationError.single(field, "has a wrong ISBN-13 check digit")
        return compact
    raise ValidationError.single(field, "must be an ISBN-10 or ISBN-13")
