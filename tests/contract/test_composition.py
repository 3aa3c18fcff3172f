"""The composition root swaps single ports by keyword, on every backend."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from bookshop_adapters import build_shop
from bookshop_adapters.testing.pytest_plugin import ShopFactory
from bookshop_core import Book, BookRepository, CreateBook, ManualClock, NewBook, Principal

ADMIN = Principal.system()


class CountingBooks:
    """A repository of ours that wraps the backend's, counting what it is asked."""

    calls: ClassVar[list[str]] = []

    def __init__(self, inner: BookRepository) -> None:
        self._inner = inner

    async def add(self, book: NewBook) -> Book:
        self.calls.append("add")
        return await self._inner.add(book)

    async def get(self, book_id: int) -> Book | None:
        self.calls.append("get")
        return await self._inner.get(book_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_single_repository_is_swapped_by_keyword(shop_factory: ShopFactory) -> None:
    """repositories={"books": ...} serves that repository from our factory, in the backend's
    own transaction, and leaves every other repository alone."""
    CountingBooks.calls = []
    url = await shop_factory.new_url()
    async with build_shop(
        url, clock=ManualClock(), repositories={"books": lambda uow: CountingBooks(uow.books)}
    ) as shop:
        book = await shop.catalog.create_book(ADMIN, CreateBook("Dune", "Frank Herbert", "9.99"))
        assert (await shop.catalog.get_book(book.id)).title == "Dune"
        assert await shop.catalog.list_genres() == []
    assert CountingBooks.calls == ["add", "get"]


async def test_an_unknown_repository_name_is_refused(shop_factory: ShopFactory) -> None:
    """A repository name the unit of work does not have is a ValueError at build time."""
    url = await shop_factory.new_url()
    with pytest.raises(ValueError, match="bookz"):
        await build_shop(url, repositories={"bookz": lambda uow: None})
