"""Each SQLite statement is one hand-off to aiosqlite's worker thread (``OneTripCursor``), with
the rows, row counts and errors SQLAlchemy's own cursor gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bookshop_adapters.sqlalchemy import migrate, open_sql_backend
from bookshop_adapters.sqlalchemy._aiosqlite import OneTripCursor
from bookshop_adapters.sqlalchemy.engine import SqlBackend
from bookshop_core.errors import Conflict
from tests.adapters.test_sqlalchemy_errors import new_book


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[SqlBackend]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    await migrate(url)
    backend = await open_sql_backend(url)
    try:
        yield backend
    finally:
        await backend.aclose()


async def test_a_statement_is_one_hand_off(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read returning rows and a write are one worker-thread call each (SQLAlchemy's
    aiosqlite cursor makes three or four: cursor, execute, fetchall, close)."""
    import aiosqlite.core

    original = aiosqlite.core.Connection._execute
    hops: list[str] = []

    async def recording(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn.__name__)
        return await original(self, fn, *args, **kwargs)

    async with backend.unit_of_work() as uow:
        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", recording)
        book = await uow.books.add(new_book())  # INSERT ... RETURNING
        assert await uow.books.get(book.id) == book  # SELECT
        monkeypatch.undo()
        await uow.commit()
    assert hops == ["_one_trip", "_one_trip"]


async def test_cursors_report_rows_counts_and_errors(backend: SqlBackend) -> None:
    """Rows, rowcount (also of an executemany) and constraint errors come through as with
    any DBAPI cursor."""
    async with backend.unit_of_work() as uow:
        connection = uow.connection
        raw = await connection.get_raw_connection()
        assert type(raw.dbapi_connection.cursor()) is OneTripCursor  # type: ignore[union-attr]
        await connection.execute(text("CREATE TEMP TABLE t (n INTEGER PRIMARY KEY)"))
        many = await connection.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": 1}, {"n": 2}])
        assert many.rowcount == 2
        rows = await connection.execute(text("SELECT n FROM t ORDER BY n"))
        assert rows.all() == [(1,), (2,)]
        changed = await connection.execute(text("UPDATE t SET n = n + 10 WHERE n > 1"))
        assert changed.rowcount == 1
        book = await uow.books.add(new_book(isbn="9780306406157"))
        with pytest.raises(Conflict):
            await uow.books.add(new_book(isbn=book.isbn))


async def test_a_read_begins_before_its_first_statement_even_a_streamed_one(
    backend: SqlBackend,
) -> None:
    """A read-only unit of work's BEGIN, left for its first statement, runs before that
    statement also when it streams through SQLAlchemy's own cursor: the read is in its
    transaction (one snapshot) from the first row on."""
    async with backend.unit_of_work(read_only=True) as uow:
        raw = await uow.connection.get_raw_connection()
        driver: Any = raw.driver_connection
        assert not driver.in_transaction  # the BEGIN waits for the first statement
        streamed = await uow.connection.stream(text("SELECT 1"))
        assert driver.in_transaction
        assert [tuple(row) async for row in streamed] == [(1,)]
    assert not driver.in_transaction
