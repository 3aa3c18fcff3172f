"""CORS: the web client's origins may call the API with credentials; others may not."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_examples.http.app import create_app

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


# CORS does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
    }


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:3000"])
async def test_preflight_from_a_default_origin_is_allowed(
    client: httpx.AsyncClient, origin: str
) -> None:
    """A preflight from the web client's dev origins gets every CORS header of the contract."""
    response = await client.options("/books", headers=preflight(origin))
    assert response.status_code == 200
    headers = response.headers
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-credentials"] == "true"
    methods = {m.strip() for m in headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


async def test_preflight_from_another_origin_gets_no_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    """An origin not configured gets no Access-Control-Allow-Origin."""
    response = await client.options("/books", headers=preflight("https://evil.example"))
    assert "access-control-allow-origin" not in response.headers


async def test_simple_request_from_an_allowed_origin_is_tagged(client: httpx.AsyncClient) -> None:
    """A GET from an allowed origin answers with that origin and credentials allowed."""
    response = await client.get("/genres", headers={"Origin": "http://localhost:3000"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_simple_request_from_another_origin_is_not_tagged(
    client: httpx.AsyncClient,
) -> None:
    """A GET from an unknown origin is served but not marked readable by that origin."""
    response = await client.get("/genres", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_error_responses_carry_cors_headers(client: httpx.AsyncClient) -> None:
    """A 404 is readable by the web client too."""
    response = await client.get("/books/999", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_cors_origins_argument_replaces_the_defaults(shop: Shop, serve: Serve) -> None:
    """create_app(cors_origins=[...]) allows exactly those origins."""
    app = create_app(shop=shop, cors_origins=["https://shop.example"])
    async with serve(app) as client:
        ours = await client.options("/books", headers=preflight("https://shop.example"))
        default = await client.options("/books", headers=preflight("http://localhost:3000"))
    assert ours.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in default.headers


async def test_cors_origins_come_from_the_environment(
    shop: Shop, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOOKSHOP_CORS_ORIGINS (comma-separated) overrides the defaults."""
    monkeypatch.setenv("BOOKSHOP_CORS_ORIGINS", "https://a.example, https://b.example")
    async with serve(create_app(shop=shop)) as client:
        second = await client.options("/books", headers=preflight("https://b.example"))
        default = await client.options("/books", headers=preflight("http://localhost:3000"))
    assert second.headers["access-control-allow-origin"] == "https://b.example"
    assert "access-control-allow-origin" not in default.headers
