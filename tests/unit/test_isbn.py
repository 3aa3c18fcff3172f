"""ISBN-10/13 validation and normalisation, by example (the properties are in tests/contract)."""

from __future__ import annotations

import pytest

from bookshop_core import ValidationError, normalize_isbn
from bookshop_core.catalog import to_isbn10, to_isbn13
from bookshop_core.catalog.isbn import isbn10_check_digit, isbn13_check_digit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0306406152", "9780306406157"),
        ("0-306-40615-2", "9780306406157"),
        ("0 306 40615 2", "9780306406157"),
        ("9780306406157", "9780306406157"),
        ("978-0-306-40615-7", "9780306406157"),
        ("\t978 0306406157 ", "9780306406157"),
        ("080442957X", "9780804429573"),
        ("080442957x", "9780804429573"),
        ("979-10-90636-07-1", "9791090636071"),
    ],
)
def test_valid_isbns_normalise_to_bare_isbn13(raw: str, expected: str) -> None:
    """ISBN-10s and ISBN-13s, with or without separators, become the bare ISBN-13."""
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0306406153", "check digit"),
        ("9780306406158", "check digit"),
        ("4006381333931", "978 or 979"),
        ("030640615", "ISBN-10 or ISBN-13"),
        ("03064061521", "ISBN-10 or ISBN-13"),
        ("X306406152", "ISBN-10 or ISBN-13"),
        ("978030640615X", "ISBN-10 or ISBN-13"),
        ("０３０６４０６１５２", "ISBN-10 or ISBN-13"),
        ("0306406152" + " " * 30, "not a valid ISBN"),
        ("", "ISBN-10 or ISBN-13"),
        ("0/306/40615/2", "ISBN-10 or ISBN-13"),
    ],
)
def test_invalid_isbns_are_refused_with_a_reason(raw: str, reason: str) -> None:
    """Wrong checksums, prefixes, lengths and characters are VALIDATION_ERROR on ``isbn``."""
    with pytest.raises(ValidationError) as caught:
        normalize_isbn(raw)
    assert caught.value.field == "isbn"
    assert reason in caught.value.message


def test_the_field_name_in_errors_can_be_chosen() -> None:
    """Callers validating another field (e.g. a CSV column) get errors on that field."""
    with pytest.raises(ValidationError) as caught:
        normalize_isbn("123", field="ISBN column")
    assert caught.value.field == "ISBN column"


def test_check_digits() -> None:
    """The check digit functions compute the published check characters."""
    assert isbn10_check_digit("030640615") == "2"
    assert isbn10_check_digit("080442957") == "X"
    assert isbn13_check_digit("978030640615") == "7"
    assert isbn13_check_digit("979109063607") == "1"


def test_isbn10_and_isbn13_convert_both_ways() -> None:
    """978 ISBN-13s convert to ISBN-10 and back; 979 ones have no ISBN-10."""
    assert to_isbn13("0306406152") == "9780306406157"
    assert to_isbn10("9780306406157") == "0306406152"
    assert to_isbn10("9780804429573") == "080442957X"
    assert to_isbn10("9791090636071") is None
