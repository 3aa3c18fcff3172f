"""Contract: bad input of any shape is one VALIDATION_ERROR naming every bad field.

Frontends turn untrusted JSON into commands with ``bookshop_core.structure(data, Command)``;
whatever the input, the result is a command or a :class:`ValidationError`, never another
exception, and a refused input changes nothing in the store.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book, add_genre
from bookshop_adapters.testing.snapshot import snapshot
from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.convert import structure
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.principal import Principal

__all__ = ["BAD_INPUTS", "ValidationContract"]

_BOOK = {"title": "Dune", "author": "Frank Herbert", "price": "9.99"}


def _book(**changes: Any) -> dict[str, Any]:
    return {**_BOOK, **changes}


#: (id, command class, untrusted input, the fields the error must name). ``""`` is the
#: input as a whole (not an object at all).
BAD_INPUTS: list[tuple[str, type, Any, set[str]]] = [
    # wrong types
    (
        "wrong-types",
        CreateBook,
        _book(title=1, author=["x"], price={"a": 1}),
        {"title", "author", "price"},
    ),
    ("bool-for-int", CreateBook, _book(genre_id=True), {"genre_id"}),
    ("bool-for-price", CreateBook, _book(price=True), {"price"}),
    ("word-for-int", CreateBook, _book(genre_id="three"), {"genre_id"}),
    ("float-for-int", SetStock, {"quantity": 1.5}, {"quantity"}),
    ("bool-for-quantity", SetStock, {"quantity": False}, {"quantity"}),
    ("word-for-delta", AdjustStock, {"delta": "one"}, {"delta"}),
    ("bool-for-delta", AdjustStock, {"delta": True}, {"delta"}),
    ("not-an-object", CreateBook, ["Dune", "Frank Herbert", "9.99"], {""}),
    ("null-instead-of-object", CreateGenre, None, {""}),
    ("bad-date-type", CreateBook, _book(publish_date=20200101), {"publish_date"}),
    ("impossible-date", CreateBook, _book(publish_date="2021-02-30"), {"publish_date"}),
    ("date-out-of-range", CreateBook, _book(publish_date="1066-10-14"), {"publish_date"}),
    # missing and unknown fields
    ("missing-required", CreateBook, {}, {"title", "author", "price"}),
    ("missing-quantity", SetStock, {}, {"quantity"}),
    ("unknown-fields", CreateBook, _book(stock_quantity=5, id=3), {"stock_quantity", "id"}),
    ("unknown-update-field", UpdateBook, {"in_stock": True}, {"in_stock"}),
    ("unknown-genre-field", CreateGenre, {"name": "Poetry", "colour": "red"}, {"colour"}),
    # price
    ("negative-price", CreateBook, _book(price="-1.00"), {"price"}),
    ("zero-price", CreateBook, _book(price=0), {"price"}),
    ("three-decimals", CreateBook, _book(price="1.999"), {"price"}),
    ("three-decimals-float", CreateBook, _book(price=0.1 + 0.2), {"price"}),
    ("price-too-large", CreateBook, _book(price="1000000.01"), {"price"}),
    ("price-not-a-number", CreateBook, _book(price="ten"), {"price"}),
    ("price-nan", CreateBook, _book(price="NaN"), {"price"}),
    ("price-infinite", CreateBook, _book(price="Infinity"), {"price"}),
    ("price-huge-string", CreateBook, _book(price="9" * 5000), {"price"}),
    ("price-exponent", CreateBook, _book(price="1e999999"), {"price"}),
    ("negative-list-price", ListBooks, {"min_price": "-0.01"}, {"min_price"}),
    ("list-price-decimals", ListBooks, {"max_price": "0.001"}, {"max_price"}),
    ("min-above-max", ListBooks, {"min_price": "5", "max_price": "1"}, {"min_price"}),
    # stock
    ("negative-stock", SetStock, {"quantity": -1}, {"quantity"}),
    ("stock-too-large", SetStock, {"quantity": 10**12}, {"quantity"}),
    ("delta-too-large", AdjustStock, {"delta": -(10**12)}, {"delta"}),
    # ISBN
    ("isbn-too-short", CreateBook, _book(isbn="12345"), {"isbn"}),
    ("isbn10-bad-check", CreateBook, _book(isbn="0-306-40615-3"), {"isbn"}),
    ("isbn13-bad-check", CreateBook, _book(isbn="978-0-306-40615-8"), {"isbn"}),
    ("isbn13-not-a-book", CreateBook, _book(isbn="4006381333931"), {"isbn"}),
    ("isbn-letters", CreateBook, _book(isbn="abcdefghij"), {"isbn"}),
    ("isbn-x-in-the-middle", CreateBook, _book(isbn="03064X6152"), {"isbn"}),
    ("isbn-non-ascii-digits", CreateBook, _book(isbn="٠٣٠٦٤٠٦١٥٢"), {"isbn"}),
    ("isbn-huge", CreateBook, _book(isbn="9" * 100_000), {"isbn"}),
    ("isbn-wrong-type", UpdateBook, {"isbn": 9780306406157}, {"isbn"}),
    # strings: empty, huge, NUL
    ("blank-title", CreateBook, _book(title="   "), {"title"}),
    ("empty-author", CreateBook, _book(author=""), {"author"}),
    (
        "too-long-text",
        CreateBook,
        _book(title="t" * 501, author="a" * 256, description="d" * 10_001),
        {"title", "author", "description"},
    ),
    ("huge-title", CreateBook, _book(title="x" * 1_000_000), {"title"}),
    ("nul-characters", CreateBook, _book(title="Du\x00ne", author="\x00"), {"title", "author"}),
    ("nul-in-description", UpdateBook, {"description": "a\x00b"}, {"description"}),
    (
        "too-long-url",
        CreateBook,
        _book(cover_image_url="https://x/" + "a" * 2048),
        {"cover_image_url"},
    ),
    ("not-a-url", CreateBook, _book(cover_image_url="javascript:alert(1)"), {"cover_image_url"}),
    (
        "protocol-relative-url",
        CreateBook,
        _book(cover_image_url="//evil.example/x.png"),
        {"cover_image_url"},
    ),
    (
        "backslash-url",
        UpdateBook,
        {"cover_image_url": "/\\evil.example/x.png"},
        {"cover_image_url"},
    ),
    ("hostless-url", UpdateBook, {"cover_image_url": "https:///x.png"}, {"cover_image_url"}),
    ("empty-genre-name", CreateGenre, {"name": ""}, {"name"}),
    ("long-genre-name", CreateGenre, {"name": "g" * 101}, {"name"}),
    ("nul-genre-name", UpdateGenre, {"name": "Po\x00etry"}, {"name"}),
    ("long-author-filter", ListBooks, {"author": "a" * 256}, {"author"}),
    # nulls for required fields
    (
        "required-nulls",
        UpdateBook,
        {"title": None, "author": None, "price": None},
        {"title", "author", "price"},
    ),
    ("null-genre-name", UpdateGenre, {"name": None}, {"name"}),
    ("null-create-title", CreateBook, _book(title=None), {"title"}),
    # ids
    ("zero-genre-id", CreateBook, _book(genre_id=0), {"genre_id"}),
    ("negative-parent-id", CreateGenre, {"name": "Poetry", "parent_id": -4}, {"parent_id"}),
    ("id-beyond-64-bits", UpdateBook, {"genre_id": 2**63}, {"genre_id"}),
    ("word-parent-id", UpdateGenre, {"parent_id": "one"}, {"parent_id"}),
    ("list-genre-filter", ListBooks, {"genre_id": [1]}, {"genre_id"}),
    # enums, flags and pages
    ("unknown-sort", ListBooks, {"sort": "popularity"}, {"sort"}),
    ("unknown-direction", ListBooks, {"sort_dir": "up"}, {"sort_dir"}),
    ("string-flag", ListBooks, {"in_stock": "yes"}, {"in_stock"}),
    ("int-flag", ListBooks, {"in_stock": 1}, {"in_stock"}),
    ("bad-page-and-size", ListBooks, {"page": 0, "size": 101}, {"page", "size"}),
    ("page-too-deep", ListBooks, {"page": 10**9, "size": 100}, {"page"}),
    ("bool-page", ListBooks, {"page": True}, {"page"}),
]


def _named_fields(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in item.loc) for item in error.errors}


def _refuse(cls: type, data: Any) -> ValidationError:
    """Structure ``data`` as ``cls`` (strictly, so that unknown keys are refused too), which
    must fail; return the error."""
    try:
        structure(data, cls, strict=True)
    except ValidationError as exc:
        return exc
    raise AssertionError(f"{cls.__name__} accepted {data!r:.200}")


@pytest.mark.asyncio
class ValidationContract:
    """Validation: every kind of bad input, every bad field named, nothing changed."""

    @pytest.mark.parametrize(
        ("cls", "data", "fields"),
        [pytest.param(cls, data, fields, id=name) for name, cls, data, fields in BAD_INPUTS],
    )
    async def test_bad_input_is_a_validation_error_naming_each_bad_field(
        self, cls: type, data: Any, fields: set[str]
    ) -> None:
        """Bad input is VALIDATION_ERROR listing exactly the bad fields, each with a reason."""
        error = _refuse(cls, data)
        assert error.code == "VALIDATION_ERROR"
        assert _named_fields(error) == fields
        assert all(item.msg for item in error.errors)
        assert error.field == (next(iter(fields)) or None if len(fields) == 1 else None)
        body = error.to_dict()
        assert body["code"] == "VALIDATION_ERROR"
        assert json.loads(json.dumps(body)) == body  # JSON-ready, for every frontend

    async def test_refused_input_changes_nothing(self, shop: Shop, admin: Principal) -> None:
        """Feeding every bad input through a frontend-style call leaves the store unchanged."""
        genre = await add_genre(shop, "Fiction")
        book = await add_book(shop, genre=genre, stock=2)
        before = await snapshot(shop)
        calls: dict[type, Callable[[Any], Awaitable[object]]] = {
            CreateBook: lambda cmd: shop.catalog.create_book(admin, cmd),
            UpdateBook: lambda cmd: shop.catalog.update_book(admin, book.id, cmd),
            SetStock: lambda cmd: shop.catalog.set_stock(admin, book.id, cmd),
            AdjustStock: lambda cmd: shop.catalog.adjust_stock(admin, book.id, cmd),
            CreateGenre: lambda cmd: shop.catalog.create_genre(admin, cmd),
            UpdateGenre: lambda cmd: shop.catalog.update_genre(admin, genre.id, cmd),
            ListBooks: lambda cmd: shop.catalog.list_books(cmd),
        }
        for name, cls, data, _ in BAD_INPUTS:
            with pytest.raises(ValidationError):
                await calls[cls](structure(data, cls, strict=True))
            assert await snapshot(shop) == before, name

    @pytest.mark.parametrize("use_case", ["get", "update", "delete", "set_stock", "adjust"])
    @pytest.mark.parametrize("bad_id", [0, -1, 2**63, True])
    async def test_impossible_book_ids_are_validation_errors(
        self, shop: Shop, admin: Principal, use_case: str, bad_id: int
    ) -> None:
        """Book ids that no store can hold are VALIDATION_ERROR on ``book_id``; no change."""
        await add_book(shop, stock=1)
        before = await snapshot(shop)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: shop.catalog.get_book(bad_id),
            "update": lambda: shop.catalog.update_book(admin, bad_id, UpdateBook(title="X")),
            "delete": lambda: shop.catalog.delete_book(admin, bad_id),
            "set_stock": lambda: shop.catalog.set_stock(admin, bad_id, SetStock(quantity=1)),
            "adjust": lambda: shop.catalog.adjust_stock(admin, bad_id, AdjustStock(delta=1)),
        }
        with pytest.raises(ValidationError) as caught:
            await calls[use_case]()
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "book_id")
        assert await snapshot(shop) == before

    @pytest.mark.parametrize("use_case", ["get", "update", "delete"])
    async def test_impossible_genre_ids_are_validation_errors(
        self, shop: Shop, admin: Principal, use_case: str
    ) -> None:
        """Genre ids that no store can hold are VALIDATION_ERROR on ``genre_id``; no change."""
        await add_genre(shop, "Fiction")
        before = await snapshot(shop)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: shop.catalog.get_genre(0),
            "update": lambda: shop.catalog.update_genre(admin, -3, UpdateGenre(name="X")),
            "delete": lambda: shop.catalog.delete_genre(admin, 2**64),
        }
        with pytest.raises(ValidationError) as caught:
            await calls[use_case]()
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "genre_id")
        assert await snapshot(shop) == before

    async def test_valid_input_structures_into_normalised_commands(self) -> None:
        """Good input becomes a command with normalised values (ISBN-13, exact price, dates)."""
        command = structure(
            _book(isbn="0-306-40615-2", price=15.5, publish_date="1965-08-01", genre_id=3),
            CreateBook,
        )
        assert command.isbn == "9780306406157"
        assert str(command.price) == "15.50"
        assert command.publish_date == date(1965, 8, 1)
        update = structure({"description": None, "isbn": ""}, UpdateBook)
        assert update.changes() == {"description": None, "isbn": None}
