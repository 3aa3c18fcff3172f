"""The request-body limit in front of every route: 413 HTTP_413 before the body is read.

Uploads have their own, larger limit
(tests/examples/test_http_uploads.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import Role
from bookshop_core.catalog.commands import AUTHOR_MAX, DESCRIPTION_MAX, TITLE_MAX, URL_MAX
from bookshop_examples.http.app import create_app
from bookshop_examples.http.limits import DEFAULT_MAX_BODY_BYTES

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]

TEN_MB = 10 * 2**20
CHUNK = 64 * 1024

# The limit does not depend on the store: memory only.
pytestmark = pytest.mark.bookshop_backends("memory")


class Body:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, size: int, first: bytes = b'{"email": "') -> None:
        self.size = size
        self.first = first
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = self.first
        while self.pulled < self.size:
            self.pulled += len(chunk)
            yield chunk
            chunk = b"a" * CHUNK


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "detail": f"The request body may be at most {DEFAULT_MAX_BODY_BYTES} bytes",
        "code": "HTTP_413",
    }


async def test_a_declared_10_mb_json_body_is_413_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    """A 10 MB Content-Length to /auth/login is 413 HTTP_413 at once: not one byte of the
    body is pulled, and the connection is not kept for another request."""
    body = Body(TEN_MB)
    response = await client.post(
        "/auth/login",
        content=body,
        headers={"Content-Length": str(TEN_MB), "Content-Type": "application/json"},
    )
    assert_too_large(response)
    assert response.headers["connection"] == "close"
    assert body.pulled == 0


async def test_an_undeclared_10_mb_json_body_is_cut_off_while_it_streams(
    client: httpx.AsyncClient,
) -> None:
    """A chunked 10 MB body to /auth/login is 413 HTTP_413 as soon as it passes the limit:
    the app never reads it whole."""
    body = Body(TEN_MB)
    response = await client.post(
        "/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_too_large(response)
    assert body.pulled <= DEFAULT_MAX_BODY_BYTES + CHUNK


@pytest.mark.parametrize(
    ("size", "status"),
    [pytest.param(1024, 422, id="at-the-limit"), pytest.param(1025, 413, id="one-byte-over")],
)
async def test_the_limit_is_configurable(serve: Serve, shop: Shop, size: int, status: int) -> None:
    """create_app(max_body_bytes=N): a body of N bytes reaches the route (here a 422 for a
    malformed login), N + 1 is 413."""
    content = b"[" + b" " * (size - 2) + b"]"
    async with serve(create_app(shop=shop, max_body_bytes=1024)) as client:
        response = await client.post(
            "/auth/login", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status, response.text


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
async def test_every_route_is_limited_whatever_its_method(
    client: httpx.AsyncClient, method: str
) -> None:
    """The limit is not only for routes that read a body: any oversized request is 413."""
    response = await client.request(
        method, "/books/1", content=b"x", headers={"Content-Length": str(TEN_MB)}
    )
    assert response.status_code == 413


async def test_the_largest_valid_book_fits_the_default_limit(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """A book with every text at its longest, written in astral characters that Python's
    json.dumps escapes to 12 bytes each, is created, not refused by the limit."""
    _, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    emoji = "\U0001f4da"
    book: dict[str, Any] = {
        "title": emoji * TITLE_MAX,
        "author": emoji * AUTHOR_MAX,
        "price": "9.99",
        "description": emoji * DESCRIPTION_MAX,
        "cover_image_url": "https://covers.example/" + emoji * (URL_MAX - 23),
    }
    content = json.dumps(book).encode()
    response = await client.post(
        "/books",
        content=content,
        headers={
            "Authorization": f"Bearer {pair.access_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 201, response.text[:300]
