"""Reads without a snapshot (``unit_of_work(read_only=True, snapshot=False)``) on SQLite and
PostgreSQL: no transaction at all, and nothing of it left on the pooled connection for the
next unit of work.

Each test opens a backend whose pool holds one connection, so every unit of work in it runs
on the same connection, and records the transaction control the driver sends on it: SQLite's
trace callback (every statement SQLite runs, the driver's own included) and asyncpg's query
logger (the simple-protocol queries asyncpg sends its ``BEGIN`` and ``ROLLBACK`` as).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import text

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.sqlalchemy import SqlBackend, migrate, open_sql_backend
from bookshop_core.catalog.entities import BookQuery, NewBook
from bookshop_core.kernel.pagination import PageRequest
from bookshop_core.search.commands import SearchBooks

_CONTROL: Final = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|END)\b", re.IGNORECASE)


class _Control:
    """The transaction control sent on one connection, in order (``BEGIN ...``, ``ROLLBACK``)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def note(self, statement: str) -> None:
        if _CONTROL.match(statement):
            self.sent.append(statement.strip().rstrip(";").upper())

    async def taken(self) -> list[str]:
        """What was sent since the last call (asyncpg calls its loggers soon, not at once)."""
        await asyncio.sleep(0)
        sent, self.sent = self.sent, []
        return sent


@asynccontextmanager
async def _one_connection(url: str) -> AsyncIterator[tuple[SqlBackend, _Control]]:
    """A backend on ``url`` (migrated) whose pool holds one connection, and what that
    connection is sent."""
    await migrate(url)
    backend = await open_sql_backend(url, pool_size=1, max_overflow=0)
    control = _Control()
    try:
        async with backend.engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            if backend.dialect_name == "sqlite":
                await driver.set_trace_callback(control.note)
            else:
                driver.add_query_logger(lambda record: control.note(record.query))
        yield backend, control
    finally:
        await backend.aclose()


def _book(title: str) -> NewBook:
    return NewBook(
        title=title,
        author="An Author",
        price=Decimal("10.00"),
        isbn=None,
        genre_id=None,
        description=None,
        cover_image_url=None,
        publish_date=None,
        stock_quantity=1,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


async def _add_book(url: str, title: str) -> None:
    """Commit a book through another backend (another connection)."""
    other = await open_sql_backend(url)
    try:
        async with other.unit_of_work() as uow:
            await uow.books.add(_book(title))
            await uow.commit()
    finally:
        await other.aclose()


async def _count(uow: Any) -> int:
    """How many books the unit of work sees (one statement of the list, its count)."""
    return (await uow.books.list(BookQuery(), PageRequest())).total


async def test_a_read_without_snapshot_sends_no_begin_and_no_rollback(url: str) -> None:
    """Its statements run with no transaction around them; the reads and writes on the same
    connection after it begin and end theirs as always."""
    async with _one_connection(url) as (backend, control):
        async with backend.unit_of_work(read_only=True, snapshot=False) as uow:
            await uow.genres.list_all()
            await uow.genres.list_all()
        without = await control.taken()
        async with backend.unit_of_work(read_only=True) as uow:
            await uow.genres.list_all()
        read = await control.taken()
        async with backend.unit_of_work() as uow:
            await uow.genres.list_all()
        write = await control.taken()
    assert without == []
    if backend.dialect_name == "sqlite":
        assert (read, write) == (["BEGIN", "ROLLBACK"], ["BEGIN IMMEDIATE", "ROLLBACK"])
    else:
        assert (read, write) == (
            ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "ROLLBACK"],
            ["BEGIN ISOLATION LEVEL READ COMMITTED", "ROLLBACK"],
        )


async def test_each_statement_of_a_read_without_snapshot_sees_the_latest_commit(
    url: str,
) -> None:
    """Two statements of a read without a snapshot may disagree: the second sees a book
    committed after the first."""
    async with _one_connection(url) as (backend, _):
        unit = backend.unit_of_work(read_only=True, snapshot=False)
        async with unit as uow:
            before = await _count(uow)
            await _add_book(url, "Committed in between")
            after = await _count(uow)
    assert (before, after) == (0, 1)


async def test_the_next_read_on_the_pooled_connection_reads_one_snapshot_again(
    url: str,
) -> None:
    """A connection a read without a snapshot used goes back to the pool transactional: the
    next read on it sees one snapshot while another connection commits."""
    async with _one_connection(url) as (backend, _):
        async with backend.unit_of_work(read_only=True, snapshot=False) as uow:
            await _count(uow)
        async with backend.unit_of_work(read_only=True) as uow:
            before = await _count(uow)
            await _add_book(url, "Committed in between")
            after = await _count(uow)
            if backend.dialect_name == "postgresql":
                show = text("SELECT current_setting('transaction_isolation')")
                level = (await uow.connection.execute(show)).scalar()
                assert level == "repeatable read"
    assert (before, after) == (0, 0)


async def test_a_write_after_a_read_without_snapshot_is_still_one_transaction(url: str) -> None:
    """A write on the same connection keeps nothing unless it commits (and on PostgreSQL runs
    at READ COMMITTED, not in autocommit)."""
    async with _one_connection(url) as (backend, _):
        async with backend.unit_of_work(read_only=True, snapshot=False) as uow:
            await _count(uow)
        async with backend.unit_of_work() as uow:
            await uow.books.add(_book("Never committed"))
            if backend.dialect_name == "postgresql":
                show = text("SELECT current_setting('transaction_isolation')")
                assert (await uow.connection.execute(show)).scalar() == "read committed"
        async with backend.unit_of_work(read_only=True, snapshot=False) as uow:
            assert await _count(uow) == 0


async def test_a_search_keeps_a_snapshot_only_for_its_facets(url: str) -> None:
    """A search without facets (one statement) runs without a transaction; with facets (a
    second statement that must agree with the page) it reads one snapshot."""
    async with _one_connection(url) as (backend, control), build_shop(backend=backend) as shop:
        await control.taken()
        await shop.search.search(SearchBooks(q="anything"))
        plain = await control.taken()
        await shop.search.search(SearchBooks(q="anything", facets=True))
        faceted = await control.taken()
    assert plain == []
    assert [sent.split()[0] for sent in faceted] == ["BEGIN", "ROLLBACK"]
