"""Statement budget on the SQL backends: a use case's statement count never grows with the data.

Each test measures a use case on a small store, grows the store a hundredfold in one
transaction, and measures again: the counts must be equal (no N+1), and small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing import add_book, add_genre
from bookshop_core import (
    AdjustStock,
    BookSort,
    CreateBook,
    Genre,
    ListBooks,
    NewBook,
    Principal,
    SetStock,
    SortDirection,
    UpdateBook,
)

pytestmark = pytest.mark.bookshop_backends("sqlite", "postgres")

SMALL, LARGE = 5, 500


async def _add_books(shop: Shop, count: int, genres: list[Genre], start: int = 0) -> None:
    """Write ``count`` books spread over ``genres`` (and none), in one transaction."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    books = [
        NewBook(
            title=f"Book {n:04}",
            author=f"Author {n % 7}",
            price=Decimal(n % 50 + 1) + Decimal("0.99"),
            isbn=None,
            genre_id=genres[n % len(genres)].id if n % 5 else None,
            description="A book.",
            cover_image_url=None,
            publish_date=date(1900 + n % 120, 1, 1) if n % 3 else None,
            stock_quantity=n % 4,
            created_at=now,
        )
        for n in range(start, start + count)
    ]
    async with shop.unit_of_work() as uow:
        await uow.books.add_many(books)
        await uow.commit()


async def _taxonomy(shop: Shop) -> list[Genre]:
    fiction = await add_genre(shop, "Fiction")
    fantasy = await add_genre(shop, "Fantasy", parent=fiction)
    epic = await add_genre(shop, "Epic", parent=fantasy)
    science = await add_genre(shop, "Science")
    return [fiction, fantasy, epic, science]


async def _statements(shop: Shop, action: Callable[[], Awaitable[Any]]) -> list[str]:
    from bookshop_adapters.sqlalchemy import count_statements

    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
        await action()
    return list(counted.statements)


Action = Callable[[], Awaitable[Any]]


async def _small_then_large(
    shop: Shop, make_action: Callable[[list[Genre]], Action]
) -> tuple[list[str], list[str]]:
    """The statements of an action with SMALL books, then with LARGE books.

    ``make_action`` gets the genres (Fiction > Fantasy > Epic, Science) and returns the action.
    """
    genres = await _taxonomy(shop)
    action = make_action(genres)
    await _add_books(shop, SMALL, genres)
    small = await _statements(shop, action)
    await _add_books(shop, LARGE - SMALL, genres, start=SMALL)
    assert (await shop.catalog.list_books()).total >= LARGE
    return small, await _statements(shop, action)


@pytest.mark.parametrize("sort", list(BookSort), ids=str)
async def test_listing_books_costs_the_same_for_5_and_500_books(shop: Shop, sort: BookSort) -> None:
    """Listing with a genre filter (sub-genres included) and any sort: same small count."""

    def listing(genres: list[Genre]) -> Action:
        query = ListBooks(genre_id=genres[0].id, sort=sort, sort_dir=SortDirection.DESC, size=50)
        return lambda: shop.catalog.list_books(query)

    small, large = await _small_then_large(shop, listing)
    assert len(large) == len(small), large
    assert len(large) <= 3, large


async def test_listing_with_every_filter_costs_the_same_for_5_and_500_books(
    shop: Shop,
) -> None:
    """All filters at once and a deep page: the count does not grow with the data."""

    def listing(genres: list[Genre]) -> Action:
        query = ListBooks(
            genre_id=genres[0].id,
            author="author",
            min_price=Decimal("1"),
            max_price=Decimal("40"),
            in_stock=True,
            sort=BookSort.DATE,
            page=2,
            size=10,
        )
        return lambda: shop.catalog.list_books(query)

    small, large = await _small_then_large(shop, listing)
    assert len(large) == len(small), large


@pytest.mark.parametrize("use_case", ["get_book", "update_book", "set_stock", "adjust_stock"])
async def test_single_book_use_cases_cost_the_same_for_5_and_500_books(
    shop: Shop, admin: Principal, use_case: str
) -> None:
    """Reading or changing one book costs a fixed number of statements, whatever the store."""
    book = await add_book(shop, "Target", stock=1)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "get_book": lambda: shop.catalog.get_book(book.id),
        "update_book": lambda: shop.catalog.update_book(admin, book.id, UpdateBook(title="T")),
        "set_stock": lambda: shop.catalog.set_stock(admin, book.id, SetStock(quantity=3)),
        "adjust_stock": lambda: shop.catalog.adjust_stock(admin, book.id, AdjustStock(delta=1)),
    }
    small, large = await _small_then_large(shop, lambda _: calls[use_case])
    assert len(large) == len(small), large


async def test_get_book_is_one_statement(shop: Shop) -> None:
    """Reading a book is a single query."""
    book = await add_book(shop)
    statements = await _statements(shop, lambda: shop.catalog.get_book(book.id))
    assert len(statements) == 1, statements


async def test_create_book_is_a_small_fixed_number_of_statements(
    shop: Shop, admin: Principal
) -> None:
    """Creating a book (genre check, insert; then, in the same transaction, the search index
    reads it back, writes its document and replaces its postings: on PostgreSQL a lock of the
    book, then delete, insert) takes at most 7 statements."""
    genre = await add_genre(shop, "Fiction")
    command = CreateBook(title="New", author="A", price=Decimal("1.00"), genre_id=genre.id)
    statements = await _statements(shop, lambda: shop.catalog.create_book(admin, command))
    assert len(statements) <= 7, statements


async def test_set_stock_is_a_small_fixed_number_of_statements(
    shop: Shop, admin: Principal
) -> None:
    """Setting stock (locked update, read back; a restock from 0, as here, also marks the
    book's waiting pre-bookings notified, none here) takes at most 4 statements."""
    book = await add_book(shop)
    statements = await _statements(
        shop, lambda: shop.catalog.set_stock(admin, book.id, SetStock(quantity=4))
    )
    assert len(statements) <= 4, statements
