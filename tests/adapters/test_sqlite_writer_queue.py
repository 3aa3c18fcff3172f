"""SQLite writers of one process queue in the event loop (first come, first served) before
``BEGIN IMMEDIATE``, bounded by ``StoreTimeouts.lock``; readers never queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bookshop_adapters.sqlalchemy import StoreTimeouts, migrate, open_sql_backend
from bookshop_adapters.sqlalchemy.engine import SqlBackend
from bookshop_core.errors import StoreBusy
from tests.adapters.test_sqlalchemy_errors import new_book


@pytest.fixture
async def impatient(tmp_path: Path) -> AsyncIterator[SqlBackend]:
    """A migrated SQLite file whose writers wait at most 0.1 s for their turn."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    await migrate(url)
    backend = await open_sql_backend(url, timeouts=StoreTimeouts(lock=0.1))
    try:
        yield backend
    finally:
        await backend.aclose()


async def test_a_writer_waiting_past_the_lock_bound_gets_store_busy(
    impatient: SqlBackend,
) -> None:
    """A writer queued behind this process's writer for longer than StoreTimeouts.lock fails
    with STORE_BUSY, as a wait in SQLite's busy handler would."""
    async with impatient.unit_of_work() as holder:
        await holder.books.add(new_book())
        with pytest.raises(StoreBusy):
            async with impatient.unit_of_work():
                pass
        await holder.commit()
    async with impatient.unit_of_work() as after:  # the queue moves on
        await after.books.add(new_book())
        await after.commit()


async def test_queued_writers_go_first_come_first_served(impatient: SqlBackend) -> None:
    """Writers waiting for the write lock begin in the order they asked, once it is free."""
    began: list[str] = []

    async def writer(name: str) -> None:
        async with impatient.unit_of_work():
            began.append(name)

    async with impatient.unit_of_work():
        waiting = []
        for name in ("first", "second", "third"):
            waiting.append(asyncio.create_task(writer(name)))
            await asyncio.sleep(0)  # queued before the next one asks
    await asyncio.gather(*waiting)
    assert began == ["first", "second", "third"]


async def test_readers_do_not_queue_behind_a_writer(impatient: SqlBackend) -> None:
    """A read-only unit of work runs while a writer holds the write lock (WAL snapshot)."""
    async with impatient.unit_of_work() as holder:
        book = await holder.books.add(new_book())
        async with impatient.unit_of_work(read_only=True) as reader:
            assert await reader.books.get(book.id) is None  # not committed yet
