"""Fixtures for the example frontends' tests: an app serving the harness's shop, a client.

``shop``, ``backend_url`` and ``clock`` come from ``bookshop_adapters.testing.pytest_plugin``
(every shipped backend); a module that is not about storage stays on memory with
``pytestmark = pytest.mark.bookshop_backends("memory")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop
from bookshop_examples.http.app import create_app

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's temporary directory (not migrated yet)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bookshop.db'}"


@pytest.fixture
def app(shop: Shop) -> FastAPI:
    return create_app(shop=shop)


@asynccontextmanager
async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # Run the app's lifespan (startup opens the shop, shutdown closes it) around the client.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def serve() -> Serve:
    """``async with serve(app) as client``: the app started, and a client talking to it."""
    return _serve


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _serve(app) as started:
        yield started
