"""A comparable picture of a whole store, to check that a failure changed nothing."""

from __future__ import annotations

from attrs import frozen

from bookshop_adapters.bootstrap import Shop
from bookshop_core.catalog.commands import ListBooks
from bookshop_core.catalog.entities import Book, BookSort, Genre, SortDirection
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE

__all__ = ["StoreSnapshot", "snapshot"]


@frozen
class StoreSnapshot:
    """Everything a shop stores, by id, as its public use cases show it.

    Two snapshots are equal exactly when every genre and every book (all fields, stock and
    timestamps included) is the same.
    """

    genres: tuple[Genre, ...]
    books: tuple[Book, ...]


async def snapshot(shop: Shop) -> StoreSnapshot:
    """Read the whole store through the shop's public use cases.

    Use it around a call that must fail::

        before = await snapshot(shop)
        with pytest.raises(Conflict):
            await shop.catalog.create_book(admin, duplicate)
        assert await snapshot(shop) == before

    Args:
        shop: The shop to read.

    Returns:
        Every genre and every book, each sorted by id.
    """
    genres = sorted(await shop.catalog.list_genres(), key=lambda genre: genre.id)
    books: list[Book] = []
    page = 1
    while True:
        result = await shop.catalog.list_books(
            ListBooks(
                sort=BookSort.CREATED_AT,
                sort_dir=SortDirection.ASC,
                page=page,
                size=MAX_PAGE_SIZE,
            )
        )
        books.extend(result.items)
        if not result.items or len(books) >= result.total:
            break
        page += 1
    return StoreSnapshot(tuple(genres), tuple(sorted(books, key=lambda book: book.id)))
