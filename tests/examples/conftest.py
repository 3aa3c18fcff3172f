"""Fixtures for the example frontends' tests: a shop per backend, an app serving it, a client.

``shop`` runs on every backend (memory, and SQLite once the SQLAlchemy adapter exists); a test
module that is not about storage overrides ``backend_url`` to stay on memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bookshop_adapters.bootstrap import Shop, build_shop
from bookshop_core import ManualClock
from bookshop_examples.http.app import create_app

Serve = Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]


def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in ``tmp_path``; skips the test while the SQLAlchemy backend is missing."""
    try:
        from bookshop_adapters.sqlalchemy import migrate, open_sql_backend  # noqa: F401
    except ImportError:
        pytest.skip("the SQLAlchemy backend is not available yet")
    return f"sqlite+aiosqlite:///{tmp_path / 'bookshop.db'}"


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's temporary directory."""
    return sqlite_url(tmp_path)


@pytest.fixture(params=["memory", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store the test's shop runs on."""
    return "memory://" if request.param == "memory" else sqlite_url(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def shop(backend_url: str, clock: ManualClock) -> AsyncIterator[Shop]:
    async with build_shop(backend_url, clock=clock, migrate=True) as opened:
        yield opened


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
