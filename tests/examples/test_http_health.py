"""GET /health: 200 with the version while the store answers, 503 otherwise."""

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
