"""Contract: only admins change the catalog; everyone may read it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import NamedTuple

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book, add_genre
from bookshop_adapters.testing.snapshot import snapshot
from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.entities import Book, Genre
from bookshop_core.errors import PermissionDenied
from bookshop_core.kernel.principal import Principal

__all__ = ["WRITE_USE_CASES", "AuthorizationContract"]


class Catalog(NamedTuple):
    """What the write use cases act on: a genre in use, an unused genre, a book in stock."""

    genre: Genre
    unused_genre: Genre
    book: Book


WriteUseCase = Callable[[Shop, Principal, Catalog], Awaitable[None]]


async def _catalog(shop: Shop) -> Catalog:
    genre = await add_genre(shop, "Fiction")
    unused = await add_genre(shop, "Unused")
    return Catalog(genre, unused, await add_book(shop, genre=genre, stock=5))


async def _create_genre(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.create_genre(who, CreateGenre(name="New", parent_id=on.genre.id))


async def _update_genre(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.update_genre(who, on.genre.id, UpdateGenre(name="Renamed"))


async def _delete_genre(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.delete_genre(who, on.unused_genre.id)


async def _create_book(shop: Shop, who: Principal, on: Catalog) -> None:
    command = CreateBook(title="New", author="Someone", price=Decimal("1.00"), genre_id=on.genre.id)
    await shop.catalog.create_book(who, command)


async def _update_book(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.update_book(who, on.book.id, UpdateBook(price=Decimal("0.01")))


async def _delete_book(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.delete_book(who, on.book.id)


async def _set_stock(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.set_stock(who, on.book.id, SetStock(quantity=100))


async def _adjust_stock(shop: Shop, who: Principal, on: Catalog) -> None:
    await shop.catalog.adjust_stock(who, on.book.id, AdjustStock(delta=-1))


async def _import_books(shop: Shop, who: Principal, on: Catalog) -> None:
    row = {"title": "Imported", "author": "Someone", "price": "3.50", "genre": "Imported genre"}
    await shop.catalog.import_books(who, [row])


#: Every use case that changes the catalog, by name.
WRITE_USE_CASES: dict[str, WriteUseCase] = {
    "create_genre": _create_genre,
    "update_genre": _update_genre,
    "delete_genre": _delete_genre,
    "create_book": _create_book,
    "update_book": _update_book,
    "delete_book": _delete_book,
    "set_stock": _set_stock,
    "adjust_stock": _adjust_stock,
    "import_books": _import_books,
}


@pytest.mark.asyncio
class AuthorizationContract:
    """Authorization: AUTH_FORBIDDEN for every catalog change by a non-admin."""

    @pytest.mark.parametrize("use_case", sorted(WRITE_USE_CASES))
    async def test_customer_is_forbidden_to_change_the_catalog(
        self, shop: Shop, customer: Principal, use_case: str
    ) -> None:
        """A non-admin gets AUTH_FORBIDDEN from every write use case, and nothing changes."""
        catalog = await _catalog(shop)
        before = await snapshot(shop)
        with pytest.raises(PermissionDenied) as caught:
            await WRITE_USE_CASES[use_case](shop, customer, catalog)
        assert caught.value.code == "AUTH_FORBIDDEN"
        assert await snapshot(shop) == before

    @pytest.mark.parametrize("use_case", sorted(WRITE_USE_CASES))
    async def test_admin_may_change_the_catalog(
        self, shop: Shop, admin: Principal, use_case: str
    ) -> None:
        """The same calls succeed for an admin and change the store (the refusal is the role)."""
        catalog = await _catalog(shop)
        before = await snapshot(shop)
        await WRITE_USE_CASES[use_case](shop, admin, catalog)
        assert await snapshot(shop) != before

    async def test_authorization_is_checked_before_existence(
        self, shop: Shop, customer: Principal
    ) -> None:
        """A non-admin learns nothing about ids: a missing book is still AUTH_FORBIDDEN."""
        with pytest.raises(PermissionDenied):
            await shop.catalog.delete_book(customer, 31337)

    async def test_anyone_may_read_the_catalog(self, shop: Shop) -> None:
        """Reading genres and books needs no principal at all."""
        genre = await add_genre(shop, "Fiction")
        book = await add_book(shop, genre=genre)
        assert await shop.catalog.get_book(book.id) == book
        assert await shop.catalog.get_genre(genre.id) == genre
        assert await shop.catalog.list_genres() == [genre]
        assert [node.id for node in await shop.catalog.genre_tree()] == [genre.id]
        assert (await shop.catalog.list_books()).items == (book,)
