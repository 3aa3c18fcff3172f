"""The composition root swaps single ports by keyword, on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import jwt
import pytest

from bookshop_adapters import Backend, Repositories, build_shop, open_backend
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.oauth import OAuthSettings
from bookshop_core import (
    Book,
    BookRepository,
    CreateBook,
    ManualClock,
    NewBook,
    Principal,
    Register,
)

ADMIN = Principal.system()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


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


async def test_a_single_repository_is_swapped_by_keyword(bookshop_backend: Backend) -> None:
    """Repositories(books=...) serves that repository from our factory, in the backend's own
    transaction, and leaves every other repository alone."""
    CountingBooks.calls = []
    async with build_shop(
        backend=bookshop_backend,
        clock=ManualClock(),
        repositories=Repositories(books=lambda uow: CountingBooks(uow.books)),
    ) as shop:
        book = await shop.catalog.create_book(ADMIN, CreateBook("Dune", "Frank Herbert", "9.99"))
        assert (await shop.catalog.get_book(book.id)).title == "Dune"
        assert await shop.catalog.list_genres() == []
    assert CountingBooks.calls == ["add", "get"]


@pytest.mark.parametrize("name", [spec.name for spec in attrs.fields(Repositories)])
async def test_each_repository_override_serves_exactly_its_own_name(name: str) -> None:
    """Every Repositories field replaces the unit of work's repository of that name, built
    once per transaction from the backend's unit of work; every other repository stays the
    backend's."""
    ours = object()
    backend = MemoryBackend()
    names = [spec.name for spec in attrs.fields(Repositories)]
    async with backend.unit_of_work(read_only=True) as plain:
        backends = {other: type(getattr(plain, other)) for other in names}
    factory = Repositories(**{name: lambda uow: ours}).around(backend.unit_of_work)
    async with factory(read_only=True) as uow:
        assert getattr(uow, name) is ours
        assert getattr(uow, name) is ours
        for other in names:
            if other != name:
                assert type(getattr(uow, other)) is backends[other]


def test_an_unknown_repository_name_is_refused() -> None:
    """A repository the unit of work does not have is a TypeError (and a mypy error, pinned in
    bookshop_adapters._protocol_checks)."""
    with pytest.raises(TypeError, match="bookz"):
        Repositories(bookz=lambda uow: None)  # type: ignore[call-arg]


async def test_a_backend_object_is_accepted_and_left_open(backend_url: str) -> None:
    """build_shop(backend=...) runs the shop on that object, and closing the shop leaves the
    backend to its opener: a second shop on it sees the first one's data."""
    backend = await open_backend(backend_url)
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


def test_a_shop_needs_a_store() -> None:
    """build_shop() with neither a URL nor a backend is a TypeError naming both ways: the
    library has no default store and reads no environment variable."""
    with pytest.raises(TypeError, match="backend="):
        build_shop()


async def test_settings_touch_nothing_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default shop ignores BOOKSHOP_* variables (no OAuth provider, its own JWT secret) and
    keeps uploaded covers in memory: nothing is written to the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOOKSHOP_GITHUB_CLIENT_ID", "id")
    monkeypatch.setenv("BOOKSHOP_GITHUB_CLIENT_SECRET", "secret")
    monkeypatch.setenv("BOOKSHOP_JWT_SECRET", "s" * 40)
    async with build_shop(backend=MemoryBackend(), clock=ManualClock()) as shop:
        assert shop.settings.oauth == OAuthSettings()
        await shop.images.upload(ADMIN, _chunks(PNG))
        pair = await shop.identity.register(
            Register(email="a@example.com", password="a long passphrase 42")
        )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(pair.access_token, "s" * 40, algorithms=["HS256"], options={"verify_aud": False})
    assert _entries(tmp_path) == []
