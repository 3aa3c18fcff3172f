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
        structure({"title": 1, "price": "1", "extra": 0}, CreateBook)
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
