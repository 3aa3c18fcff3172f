"""SqlBackend.ping says whether the store can serve the shop: it answers, its schema is not
missing or behind the code, and it accepts writes. On SQLite and PostgreSQL, one fresh
database per test (``url``: unmigrated)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bookshop_adapters.sqlalchemy import SqlBackend, migrate, open_sql_backend


async def ping(url: str) -> bool:
    backend = await open_sql_backend(url)
    try:
        return await backend.ping()
    finally:
        await backend.aclose()


async def test_a_migrated_store_is_healthy(url: str) -> None:
    """A store migrated to the newest revision pings True."""
    await migrate(url)
    assert await ping(url) is True


async def test_an_unmigrated_store_is_unhealthy(url: str) -> None:
    """A store that answers but was never migrated pings False."""
    assert await ping(url) is False


async def test_a_store_behind_the_code_is_unhealthy(url: str) -> None:
    """A store at an older revision than the code's newest pings False."""
    await migrate(url, "0001")
    assert await ping(url) is False


async def test_a_read_only_sqlite_file_is_unhealthy(url: str) -> None:
    """A SQLite file that refuses writes (opened read-only, which binds root too, unlike chmod
    0444) pings False."""
    if not url.startswith("sqlite"):
        pytest.skip("SQLite files only")
    await migrate(url)
    assert await ping(url.replace(":///", ":///file:", 1) + "?mode=ro&uri=true") is False


async def test_a_read_only_postgres_database_is_unhealthy(backend: SqlBackend, url: str) -> None:
    """A PostgreSQL database whose transactions are read-only (like a standby) pings False."""
    if backend.dialect_name != "postgresql":
        pytest.skip("PostgreSQL only")
    async with backend.engine.connect() as connection:
        name = (await connection.execute(text("SELECT current_database()"))).scalar()
        await connection.execute(
            text(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        )
        await connection.commit()
    assert await ping(url) is False


async def test_the_sqlite_write_probe_does_not_wait_for_a_writer(backend: SqlBackend) -> None:
    """While another connection holds SQLite's write lock, ping neither queues behind it nor
    calls the (writable) file read-only."""
    if backend.dialect_name != "sqlite":
        pytest.skip("SQLite's single write lock")
    async with backend.unit_of_work() as holder:
        await holder.genres.add("Held", None)  # holds the write lock until the block ends
        # A queueing probe would exceed the ping's own bound (shorter than the busy timeout).
        assert await backend.ping() is True
