"""The app factory: which store it opens, and the shop's life with the app's."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.sqlalchemy import StoreTimeouts
from bookshop_core import CreateBook, ManualClock, Principal
from bookshop_examples.http.app import create_app
from bookshop_examples.settings import AppSettings

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


async def add_book(shop: Shop, title: str) -> int:
    command = CreateBook(title=title, author="A. Author", price=Decimal("10.00"))
    return (await shop.catalog.create_book(Principal.system(), command)).id


async def test_memory_url_opens_a_shop_at_startup(serve: Serve) -> None:
    """create_app("memory://") serves a memory shop opened by the lifespan."""
    app = create_app("memory://")
    assert app.state.shop is None
    async with serve(app) as client:
        shop = app.state.shop
        assert isinstance(shop, Shop)
        assert shop.backend.dialect_name == "memory"
        book_id = await add_book(shop, "Opened at startup")
        response = await client.get(f"/books/{book_id}")
    assert response.json()["title"] == "Opened at startup"


async def test_shop_is_closed_and_dropped_at_shutdown(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown closes the shop the app opened and stops serving it."""
    closed: list[bool] = []

    async def aclose(self: MemoryBackend) -> None:
        closed.append(True)

    monkeypatch.setattr(MemoryBackend, "aclose", aclose)
    app = create_app("memory://")
    async with serve(app):
        assert closed == []
    assert closed == [True]
    assert app.state.shop is None


async def test_sqlite_file_url_is_migrated_and_persists(serve: Serve, sqlite_file_url: str) -> None:
    """A SQLite file URL gets its schema at startup and keeps data across app restarts."""
    url = sqlite_file_url
    first = create_app(url)
    async with serve(first):
        book_id = await add_book(first.state.shop, "Kept on disk")
    second = create_app(url)
    async with serve(second) as client:
        response = await client.get(f"/books/{book_id}")
        health = await client.get("/health")
    assert response.json()["title"] == "Kept on disk"
    assert health.status_code == 200


async def test_url_defaults_to_the_environment(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a URL, create_app reads BOOKSHOP_DATABASE_URL."""
    monkeypatch.setenv("BOOKSHOP_DATABASE_URL", "memory://")
    app = create_app()
    assert app.state.database_url == "memory://"
    async with serve(app):
        assert app.state.shop.backend.dialect_name == "memory"


def test_url_defaults_to_a_local_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a URL or the variable, the store is bookshop.db in the working directory."""
    monkeypatch.delenv("BOOKSHOP_DATABASE_URL", raising=False)
    assert create_app().state.database_url == "sqlite+aiosqlite:///bookshop.db"


async def test_given_shop_is_served_and_left_open(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_app(shop=...) serves that shop; the caller owns it, so shutdown does not close it."""
    closed: list[bool] = []

    async def aclose(self: MemoryBackend) -> None:
        closed.append(True)

    monkeypatch.setattr(MemoryBackend, "aclose", aclose)
    async with build_shop("memory://", clock=ManualClock()) as shop:
        app = create_app(shop=shop)
        async with serve(app):
            assert app.state.shop is shop
        assert closed == []
        assert app.state.shop is None
    assert closed == [True]


async def test_url_and_shop_together_are_refused() -> None:
    """Passing both a URL and a shop is ambiguous: ValueError."""
    async with build_shop("memory://") as shop:
        with pytest.raises(ValueError, match="not both"):
            create_app("memory://", shop=shop)


def test_public_url_is_where_oauth_callbacks_point() -> None:
    """create_app(public_url=...) is the base OAuth callback URLs are built from."""
    app = create_app("memory://", public_url="https://shop.example")
    assert app.state.public_url == "https://shop.example"


async def test_a_missing_jwt_secret_is_warned_about_at_startup(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """The app, which issues tokens, warns at startup when BOOKSHOP_JWT_SECRET is unset (tokens
    then die with the process); with a secret it says nothing."""
    async with serve(create_app("memory://", settings=AppSettings())):
        pass
    assert any("JWT secret" in record.getMessage() for record in caplog.records)
    caplog.clear()
    async with serve(create_app("memory://", settings=AppSettings(jwt_secret="s" * 32))):
        pass
    assert not any("JWT secret" in record.getMessage() for record in caplog.records)


async def test_store_timeouts_come_from_the_environment(
    serve: Serve, sqlite_file_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOOKSHOP_STORE_*_TIMEOUT set the bounds of the store the app opens; unset ones keep
    the library's defaults."""
    monkeypatch.setenv("BOOKSHOP_STORE_LOCK_TIMEOUT", "1.5")
    monkeypatch.setenv("BOOKSHOP_STORE_STATEMENT_TIMEOUT", "4")
    app = create_app(sqlite_file_url)
    async with serve(app):
        timeouts = app.state.shop.backend.timeouts
    assert timeouts == StoreTimeouts(lock=1.5, statement=4)


def test_without_store_variables_the_library_defaults_apply() -> None:
    """No BOOKSHOP_STORE_* variable: no bounds are passed (build_shop's defaults)."""
    assert AppSettings.from_env({}).shop_settings().store_timeouts is None


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_a_malformed_store_timeout_names_its_variable(value: str) -> None:
    """A bound that is not a positive number of seconds is a ValueError naming the variable."""
    with pytest.raises(ValueError, match="BOOKSHOP_STORE_CONNECT_TIMEOUT"):
        AppSettings.from_env({"BOOKSHOP_STORE_CONNECT_TIMEOUT": value})


@pytest.mark.parametrize(
    ("size", "status"),
    [pytest.param(1024, 422, id="at-the-limit"), pytest.param(1025, 413, id="one-byte-over")],
)
async def test_max_body_bytes_comes_from_the_environment(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, size: int, status: int
) -> None:
    """BOOKSHOP_MAX_BODY_BYTES=N: a body of N bytes reaches the route, N + 1 is 413."""
    monkeypatch.setenv("BOOKSHOP_MAX_BODY_BYTES", "1024")
    content = b"[" + b" " * (size - 2) + b"]"
    async with serve(create_app("memory://")) as client:
        response = await client.post(
            "/auth/login", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status, response.text


@pytest.mark.parametrize("value", ["big", "0", "-5", "1.5"])
def test_a_malformed_max_body_bytes_names_its_variable(value: str) -> None:
    """A body limit that is not a positive whole number is a ValueError naming the variable."""
    with pytest.raises(ValueError, match="BOOKSHOP_MAX_BODY_BYTES"):
        AppSettings.from_env({"BOOKSHOP_MAX_BODY_BYTES": value})
