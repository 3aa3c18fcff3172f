"""Properties checked with Hypothesis: ISBN arithmetic, untrusted input, whole call sequences.

The store properties (atomic failures, agreement with the in-memory reference model) run on
every backend, from the shared contract in ``bookshop_adapters.testing.contract``.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bookshop_adapters.testing import strategies as bs
from bookshop_adapters.testing.contract import StoreProperties
from bookshop_core import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
    UpdateGenre,
    ValidationError,
    normalize_isbn,
    structure,
)
from bookshop_core.catalog import to_isbn10, to_isbn13


class TestStoreProperties(StoreProperties):
    """Random call sequences: failures change nothing; every backend matches the reference."""


# -- ISBN ---------------------------------------------------------------------------------


@given(bs.isbn10s())
def test_every_isbn10_maps_to_its_isbn13_and_back(isbn10: str) -> None:
    """An ISBN-10 normalises to the 978 ISBN-13 of the same book, which maps back to it."""
    isbn13 = normalize_isbn(isbn10)
    assert isbn13 == to_isbn13(isbn10)
    assert isbn13.startswith("978")
    assert len(isbn13) == 13
    assert isbn13[3:12] == isbn10[:9]
    assert to_isbn10(isbn13) == isbn10
    assert normalize_isbn(isbn13) == isbn13


@given(bs.isbn13s())
def test_every_isbn13_normalises_to_itself(isbn13: str) -> None:
    """A valid ISBN-13 is already normal; only 978 ones have an ISBN-10, which maps back."""
    assert normalize_isbn(isbn13) == isbn13
    isbn10 = to_isbn10(isbn13)
    if isbn13.startswith("978"):
        assert isbn10 is not None
        assert normalize_isbn(isbn10) == isbn13
    else:
        assert isbn10 is None


@given(st.data())
def test_every_spelling_of_an_isbn_normalises_alike(data: st.DataObject) -> None:
    """Hyphens, spaces and a lowercase x never change which ISBN-13 an ISBN stands for."""
    isbn = data.draw(bs.isbns())
    spelled = data.draw(bs.isbn_spellings(isbn))
    assert normalize_isbn(spelled) == normalize_isbn(isbn)


def _substitutions(isbn: str, alphabet_at: Any) -> st.SearchStrategy[str]:
    def change(position: int, data: st.DataObject) -> str:
        options = [c for c in alphabet_at(position) if c != isbn[position]]
        replacement: str = data.draw(st.sampled_from(options))
        return isbn[:position] + replacement + isbn[position + 1 :]

    return st.builds(change, st.integers(0, len(isbn) - 1), st.data())


@given(st.data())
def test_every_single_character_change_of_an_isbn10_is_rejected(data: st.DataObject) -> None:
    """Changing any one character of a valid ISBN-10 (the check ``X`` included) is refused.

    The ISBN-10 checksum (weights 10..1, mod 11, a prime) detects every single substitution.
    """
    isbn = data.draw(bs.isbn10s())
    mutated = data.draw(_substitutions(isbn, lambda i: string.digits + ("X" if i == 9 else "")))
    with pytest.raises(ValidationError):
        normalize_isbn(mutated)


@given(st.data())
def test_every_single_digit_change_of_an_isbn13_is_rejected(data: st.DataObject) -> None:
    """Changing any one digit of a valid ISBN-13 is refused.

    EAN-13 weights digits 1 and 3 alternately mod 10; both are units mod 10, so any single
    substitution changes the checksum (or breaks the 978/979 prefix).
    """
    isbn = data.draw(bs.isbn13s())
    mutated = data.draw(_substitutions(isbn, lambda _: string.digits))
    with pytest.raises(ValidationError):
        normalize_isbn(mutated)


@given(bs.isbn10s(), st.integers(0, 8))
def test_every_adjacent_transposition_in_an_isbn10_is_rejected(isbn: str, i: int) -> None:
    """Swapping two adjacent, different characters of a valid ISBN-10 is refused.

    Adjacent weights differ by 1 and 11 is prime, so every such swap changes the checksum;
    a check ``X`` moved inside the number is not an ISBN at all.
    """
    assume(isbn[i] != isbn[i + 1])
    swapped = isbn[:i] + isbn[i + 1] + isbn[i] + isbn[i + 2 :]
    with pytest.raises(ValidationError):
        normalize_isbn(swapped)


@given(bs.isbn13s(), st.integers(0, 11))
def test_adjacent_transpositions_in_an_isbn13_are_rejected_unless_digits_differ_by_5(
    isbn: str, i: int
) -> None:
    """Swapping two adjacent digits of a valid ISBN-13 is refused when they differ by other
    than 5.

    This is exactly what EAN-13 guarantees: a swap of ``a`` and ``b`` changes the checksum
    by ``2 (a - b)`` mod 10, which is 0 when ``|a - b| == 5`` (e.g. ``...16...`` vs
    ``...61...``), so such swaps are undetectable by the checksum and are not part of this
    property.
    """
    a, b = int(isbn[i]), int(isbn[i + 1])
    assume(a != b and abs(a - b) != 5)
    swapped = isbn[:i] + isbn[i + 1] + isbn[i] + isbn[i + 2 :]
    with pytest.raises(ValidationError):
        normalize_isbn(swapped)


@given(st.text(max_size=40))
def test_normalize_isbn_refuses_garbage_only_with_validation_errors(text: str) -> None:
    """Any text is either a valid ISBN or a ValidationError, never another exception."""
    try:
        result = normalize_isbn(text)
    except ValidationError:
        return  # refused the documented way; any other exception fails the test
    assert len(result) == 13
    assert result.isdigit()


# -- untrusted input ----------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["9.99", "1e400", "NaN", "-0", "2024-02-30", "0306406152", "title"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = {
    CreateBook: ["title", "author", "price", "isbn", "genre_id", "description", "publish_date"],
    UpdateBook: ["title", "price", "isbn", "genre_id", "publish_date", "cover_image_url"],
    SetStock: ["quantity"],
    AdjustStock: ["delta"],
    CreateGenre: ["name", "parent_id"],
    UpdateGenre: ["name", "parent_id"],
    ListBooks: ["genre_id", "author", "min_price", "max_price", "in_stock", "sort", "page"],
}


@pytest.mark.parametrize("command", list(_FIELDS), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_untrusted_input_becomes_a_command_or_a_validation_error(
    command: type, data: st.DataObject
) -> None:
    """Whatever JSON arrives, ``structure`` returns the command or raises ValidationError."""
    payload = data.draw(
        st.dictionaries(st.sampled_from([*_FIELDS[command], "unknown"]), _json, max_size=6) | _json
    )
    try:
        result: object = structure(payload, command)
    except ValidationError as exc:
        errors = exc.errors  # refused the documented way; any other exception fails the test
        assert errors
        return
    assert isinstance(result, command)


@given(bs.create_book_commands(), bs.update_book_commands(), bs.create_genre_commands())
def test_the_command_strategies_make_valid_commands(
    create: CreateBook, update: UpdateBook, genre: CreateGenre
) -> None:
    """The public strategies only make commands that survive a JSON-style round trip."""
    for command in (create, update, genre):
        assert isinstance(command, CreateBook | UpdateBook | CreateGenre)
    assert create.price > 0
    assert create.isbn is None or normalize_isbn(create.isbn) == create.isbn
