"""GET /health: 200 with the version while the store can serve requests, 503 otherwise; and
the store failures health reports (unmigrated, read-only) are 503 on the routes too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from fastapi import FastAPI

import bookshop_core
from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.sqlalchemy import migrate
from bookshop_adapters.testing.identity import open_test_shop
from bookshop_core import ManualClock
from bookshop_examples.http.app import create_app
from bookshop_examples.http.routes import health

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


class UnreachableBackend(MemoryBackend):
    """A store whose ping says it is down."""

    async def ping(self) -> bool:
        return False


class BrokenBackend(MemoryBackend):
    """A store whose ping fails with a driver error."""

    async def ping(self) -> bool:
        raise OSError("connection refused")


class HangingBackend(MemoryBackend):
    """A store whose ping never answers."""

    async def ping(self) -> bool:
        await asyncio.sleep(3600)
        return True


async def shop_on(backend: MemoryBackend) -> Shop:
    return await build_shop(backend=backend, clock=ManualClock())


async def test_health_is_ok_with_the_version(client: httpx.AsyncClient) -> None:
    """200 {"status": "ok", "version": <library version>} while the store answers."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": bookshop_core.__version__}


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(UnreachableBackend(), id="ping-false"),
        pytest.param(BrokenBackend(), id="ping-raises"),
    ],
)
async def test_health_is_503_when_the_store_does_not_answer(
    serve: Serve, backend: MemoryBackend
) -> None:
    """503 {"status": "unavailable"} when the ping fails or raises."""
    async with serve(create_app(shop=await shop_on(backend))) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_health_is_503_when_the_ping_times_out(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that does not answer in time counts as unavailable; health never hangs."""
    monkeypatch.setattr(health, "PING_TIMEOUT", 0.01)
    async with serve(create_app(shop=await shop_on(HangingBackend()))) as client:
        response = await client.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_health_is_503_when_no_shop_is_open() -> None:
    """Before startup (or after shutdown) the app serves no shop: health says unavailable."""
    app = create_app(shop=await shop_on(MemoryBackend()))
    transport = httpx.ASGITransport(app=app)  # no lifespan on purpose
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_routes_are_503_when_no_shop_is_open() -> None:
    """Without an open shop, other routes answer 503 STORE_UNAVAILABLE, not a 500."""
    app = create_app(shop=await shop_on(MemoryBackend()))
    transport = httpx.ASGITransport(app=app)  # no lifespan on purpose
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/books")
    assert response.status_code == 503
    assert response.json()["code"] == "STORE_UNAVAILABLE"


# -- real SQLite stores that answer but cannot serve ------------------------------------------


def read_only(url: str) -> str:
    """The same SQLite file opened read-only (binds root too, unlike chmod 0444)."""
    return url.replace(":///", ":///file:", 1) + "?mode=ro&uri=true"


async def test_health_is_503_on_an_unmigrated_database(serve: Serve, sqlite_file_url: str) -> None:
    """A database that was never migrated answers pings but fails every request: 503."""
    async with open_test_shop(sqlite_file_url) as shop, serve(create_app(shop=shop)) as client:
        response = await client.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_health_is_ok_once_migrated(serve: Serve, sqlite_file_url: str) -> None:
    """The same database, migrated, is healthy."""
    await migrate(sqlite_file_url)
    async with open_test_shop(sqlite_file_url) as shop, serve(create_app(shop=shop)) as client:
        response = await client.get("/health")
    assert response.status_code == 200


async def test_a_read_only_database_is_503_on_health_register_and_login(
    serve: Serve, sqlite_file_url: str
) -> None:
    """A database that refuses writes: health 503, and the writes of register and login are
    503 STORE_UNAVAILABLE, not 500."""
    await migrate(sqlite_file_url)
    account = {"email": "reader@example.com", "password": "a long enough passphrase"}
    async with open_test_shop(sqlite_file_url) as shop, serve(create_app(shop=shop)) as client:
        assert (await client.post("/auth/register", json=account)).status_code == 201
    async with (
        open_test_shop(read_only(sqlite_file_url)) as shop,
        serve(create_app(shop=shop)) as client,
    ):
        health_response = await client.get("/health")
        other = {"email": "new@example.com", "password": "a long enough passphrase"}
        register = await client.post("/auth/register", json=other)
        login = await client.post("/auth/login", json=account)
    assert (health_response.status_code, health_response.json()) == (
        503,
        {"status": "unavailable"},
    )
    for response in (register, login):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "STORE_UNAVAILABLE"
