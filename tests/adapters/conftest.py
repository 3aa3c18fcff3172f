"""Fixtures for the SQL adapter's backend-only tests: one fresh database per test, on SQLite
(a temporary file) and on PostgreSQL (the shared ``postgres_url`` fixture, else
``$BOOKSHOP_TEST_POSTGRES_URL``; ICU ``en-US`` collation when the server has ICU, so that
code-point ordering is really tested)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bookshop_adapters.sqlalchemy import SqlBackend, migrate, open_sql_backend

POSTGRES_URL_ENV = "BOOKSHOP_TEST_POSTGRES_URL"


def _postgres_server(request: pytest.FixtureRequest) -> str:
    try:
        return str(request.getfixturevalue("postgres_url"))
    except pytest.FixtureLookupError:
        url = os.environ.get(POSTGRES_URL_ENV)
        if not url:
            pytest.skip(f"no PostgreSQL: no postgres_url fixture and no ${POSTGRES_URL_ENV}")
        return url


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """A new empty database on the server, dropped afterwards."""
    import asyncpg

    url = make_url(server_url)
    name = f"bookshop_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        try:
            await admin.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        except asyncpg.PostgresError:
            await admin.execute(f"CREATE DATABASE {name}")
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """The URL of a fresh, empty (unmigrated) database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
        return
    async with fresh_postgres_database(_postgres_server(request)) as database_url:
        yield database_url


@pytest.fixture
async def backend(url: str) -> AsyncIterator[SqlBackend]:
    """An open backend on the fresh database, migrated to the newest schema."""
    await migrate(url)
    opened = await open_sql_backend(url)
    yield opened
    await opened.aclose()
