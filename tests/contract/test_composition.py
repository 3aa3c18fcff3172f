"""The composition root swaps single ports by keyword, on every backend."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from bookshop_adapters import build_shop, open_backend
from bookshop_adapters.memory import MemoryBackend
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


async def test_a_backend_object_is_accepted_and_left_open(shop_factory: ShopFactory) -> None:
    """build_shop(backend=...) runs the shop on that object, and closing the shop leaves the
    backend to its opener: a second shop on it sees the first one's data."""
    url = await shop_factory.new_url()
    backend = await open_backend(url)
    try:
        async with build_shop(backend=backend, clock=ManualClock()) as shop:
            assert shop.backend is backend
            book = await shop.catalog.create_book(ADMIN, CreateBook("Dune", "F. H.", "9.99"))
        async with build_shop(backend=backend, clock=ManualClock()) as again:
            assert (await again.catalog.get_book(book.id)).title == "Dune"
    finally:
        await backend.aclose()


async def test_a_url_and_a_backend_together_are_refused() -> None:
    """Naming the store twice is a TypeError, before anything is opened."""
    with pytest.raises(TypeError, match="not both"):
        build_shop("memory://", backend=MemoryBackend())
