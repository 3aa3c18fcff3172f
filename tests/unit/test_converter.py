"""The converter: untrusted dicts into commands, entities into JSON-ready data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from bookshop_core import (
    UNSET,
    Book,
    BookSort,
    CreateBook,
    Genre,
    GenreNode,
    ListBooks,
    Page,
    Register,
    SetStock,
    SortDirection,
    UpdateBook,
    ValidationError,
    structure,
    unstructure,
)

BOOK = Book(
    id=7,
    title="Dune",
    author="Frank Herbert",
    price=Decimal("9.90"),
    isbn="9780306406157",
    genre_id=3,
    description=None,
    cover_image_url=None,
    publish_date=date(1965, 8, 1),
    stock_quantity=2,
    created_at=datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
    updated_at=datetime(2024, 1, 2, 12, 0, tzinfo=UTC),
    review_count=3,
    rating_sum=13,
)


def test_book_unstructures_to_the_api_shape() -> None:
    """A book becomes JSON-ready data: money as a two-decimal string, ISO dates, rating."""
    data = unstructure(BOOK)
    assert data == {
        "id": 7,
        "title": "Dune",
        "author": "Frank Herbert",
        "price": "9.90",
        "isbn": "9780306406157",
        "genre_id": 3,
        "description": None,
        "cover_image_url": None,
        "publish_date": "1965-08-01",
        "stock_quantity": 2,
        "in_stock": True,
        "avg_rating": 4.3,
        "review_count": 3,
        "created_at": "2024-01-01T12:00:00+00:00",
        "updated_at": "2024-01-02T12:00:00+00:00",
    }
    assert json.loads(json.dumps(data)) == data


def test_average_rating_rounds_half_up_to_one_decimal() -> None:
    """``avg_rating`` is the mean of live ratings, one decimal, half up; none without reviews."""
    assert attrs.evolve(BOOK, review_count=4, rating_sum=17).avg_rating == Decimal("4.3")
    assert attrs.evolve(BOOK, review_count=2, rating_sum=7).avg_rating == Decimal("3.5")
    assert attrs.evolve(BOOK, review_count=20, rating_sum=89).avg_rating == Decimal("4.5")
    assert attrs.evolve(BOOK, review_count=0, rating_sum=0).avg_rating is None


def test_pages_genres_and_trees_unstructure() -> None:
    """Pages, genres and genre trees become plain dicts and lists."""
    assert unstructure(Page((Genre(1, "Fiction"),), 1, 1, 20)) == {
        "items": [{"id": 1, "name": "Fiction", "parent_id": None}],
        "total": 1,
        "page": 1,
        "size": 20,
    }
    tree = GenreNode(1, "Fiction", None, (GenreNode(2, "Fantasy", 1, ()),))
    assert unstructure(tree) == {
        "id": 1,
        "name": "Fiction",
        "parent_id": None,
        "children": [{"id": 2, "name": "Fantasy", "parent_id": 1, "children": []}],
    }


def test_structure_builds_and_normalises_a_command() -> None:
    """A good payload becomes a validated command with normalised values."""
    command = structure(
        {"title": " Dune ", "author": "F. H.", "price": "9.9", "isbn": "0-306-40615-2"}, CreateBook
    )
    assert command == CreateBook(
        title="Dune", author="F. H.", price=Decimal("9.90"), isbn="9780306406157"
    )


def test_absent_update_fields_stay_unset_and_null_clears() -> None:
    """In an update, a missing key is UNSET (keep) while null means clear."""
    command = structure({"description": None}, UpdateBook)
    assert command.description is None
    assert command.title is UNSET
    assert command.changes() == {"description": None}


def test_list_query_structures_enums() -> None:
    """Sort names and directions arrive as strings and become enums."""
    query = structure({"sort": "price", "sort_dir": "desc", "in_stock": True}, ListBooks)
    assert (query.sort, query.direction, query.in_stock) == (
        BookSort.PRICE,
        SortDirection.DESC,
        True,
    )


def test_structure_errors_have_paths_and_types() -> None:
    """Each bad field is reported with its location, message and a short type tag."""
    with pytest.raises(ValidationError) as caught:
        structure({"title": 1, "price": "1", "extra": 0}, CreateBook, strict=True)
    by_field = {error.loc: error.type for error in caught.value.errors}
    assert by_field == {
        ("title",): "type_error",
        ("author",): "missing",
        ("extra",): "extra_forbidden",
    }
    assert caught.value.to_dict()["detail"][0]["loc"] == ["title"]


def test_structure_errors_never_leak_their_cause() -> None:
    """The ValidationError raised for malformed input does not chain a cattrs exception."""
    with pytest.raises(ValidationError) as caught:
        structure({"title": [], "author": {}, "price": None}, CreateBook)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_type_and_value_errors_are_reported_together() -> None:
    """One answer names every bad field: wrong types beside out-of-range values."""
    with pytest.raises(ValidationError) as caught:
        structure(
            {"title": "x" * 501, "author": "A", "price": "1.999", "genre_id": True}, CreateBook
        )
    assert {error.loc for error in caught.value.errors} == {("title",), ("price",), ("genre_id",)}


def test_value_checks_beside_type_errors_skip_the_bad_fields() -> None:
    """A field that failed its type check is reported once, not again by the value checks."""
    with pytest.raises(ValidationError) as caught:
        structure({"min_price": "abc", "max_price": "5", "page": 0, "size": "x"}, ListBooks)
    locs = [error.loc for error in caught.value.errors]
    assert sorted(locs) == [("min_price",), ("page",), ("size",)]


@pytest.mark.parametrize("given", [3, "3", " 3 ", 3.0])
def test_integers_are_read_as_leniently_as_the_seed_api(given: object) -> None:
    """Digit strings and whole floats are integers, as the seed API's pydantic models read them."""
    assert structure({"quantity": given}, SetStock) == SetStock(3)


@pytest.mark.parametrize("given", [True, "3.5", 3.5, "three", "", "1e3", [3]])
def test_anything_else_is_not_an_integer(given: object) -> None:
    """Bools, fractions and words are refused as integers."""
    with pytest.raises(ValidationError) as caught:
        structure({"quantity": given}, SetStock)
    assert [error.loc for error in caught.value.errors] == [("quantity",)]


def test_unknown_keys_are_ignored_by_default_and_never_applied() -> None:
    """Off the wire, an unknown key (a smuggled ``role``) is dropped; the command has no room."""
    command = structure(
        {"email": "New@Example.com", "password": "a long passphrase 42", "role": "admin"},
        Register,
    )
    assert command == Register(email="new@example.com", password="a long passphrase 42")
    assert not hasattr(command, "role")


def test_strict_mode_refuses_unknown_keys_naming_each() -> None:
    """``strict=True`` reports every unknown key as ``extra_forbidden``."""
    with pytest.raises(ValidationError) as caught:
        structure({"quantity": 1, "id": 3, "in_stock": True}, SetStock, strict=True)
    assert {(e.loc, e.type) for e in caught.value.errors} == {
        (("id",), "extra_forbidden"),
        (("in_stock",), "extra_forbidden"),
    }


def test_query_string_values_are_read_by_default() -> None:
    """Query-string data (every value a string) becomes a typed, normalised command."""
    query = structure(
        {"in_stock": "true", "page": "2", "size": "50", "min_price": "3", "genre_id": "7"},
        ListBooks,
    )
    assert query == ListBooks(in_stock=True, page=2, size=50, min_price=Decimal("3.00"), genre_id=7)


@pytest.mark.parametrize(
    ("given", "read"), [("true", True), ("FALSE", False), ("1", True), ("0", False)]
)
def test_boolean_text_is_read_by_default(given: str, read: bool) -> None:
    """ "true"/"false"/"1"/"0" (any case) are booleans off the wire."""
    assert structure({"in_stock": given}, ListBooks).in_stock is read


@pytest.mark.parametrize(
    "data", [{"in_stock": "true"}, {"page": "2"}, {"page": 2.0}, {"in_stock": 1}]
)
def test_strict_mode_wants_json_types(data: dict[str, object]) -> None:
    """``strict=True`` refuses strings (and whole floats) for ints and bools."""
    with pytest.raises(ValidationError) as caught:
        structure(data, ListBooks, strict=True)
    assert [(e.loc, e.type) for e in caught.value.errors] == [((next(iter(data)),), "type_error")]


def test_strict_mode_still_reads_decimal_strings() -> None:
    """Money is written as a decimal string, so strict mode reads one as a Decimal."""
    command = structure(
        {"title": "Dune", "author": "F. H.", "price": "9.9"}, CreateBook, strict=True
    )
    assert command.price == Decimal("9.90")


def test_commands_hold_their_true_types() -> None:
    """Once built, a command holds normalised values of its declared types, never raw input."""
    command = structure(
        {"title": "Dune", "author": "F. H.", "price": 15.5, "publish_date": "1965-08-01"},
        CreateBook,
    )
    assert (type(command.price), str(command.price)) == (Decimal, "15.50")
    assert type(command.publish_date) is date
    query = structure({"sort": "price", "sort_dir": "desc"}, ListBooks)
    assert (type(query.sort), type(query.sort_dir)) == (BookSort, SortDirection)


def test_direct_construction_reports_every_bad_field() -> None:
    """Built in Python, a command also names every bad field in one error."""
    with pytest.raises(ValidationError) as caught:
        CreateBook(title=" ", author="", price=Decimal("1.999"), isbn="123")
    assert {e.loc for e in caught.value.errors} == {("title",), ("author",), ("price",), ("isbn",)}


def test_commands_are_frozen_after_normalising() -> None:
    """Normalisation happens on construction; the command cannot be changed afterwards."""
    command = CreateBook(title=" Dune ", author="F. H.", price=Decimal(9))
    assert (command.title, str(command.price)) == ("Dune", "9.00")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        command.title = "x"  # type: ignore[misc]


@pytest.mark.parametrize("value", ["12", b"12", {"1": 2}])
def test_text_or_a_mapping_is_never_a_list_of_ids(value: object) -> None:
    """A string is not the ids of its characters, nor a mapping the ids of its keys."""
    from bookshop_core.reviews import BulkDeleteReviews

    with pytest.raises(ValidationError) as caught:
        structure({"review_ids": value}, BulkDeleteReviews)
    assert caught.value.errors[0].loc == ("review_ids",)
