"""Backend-only behaviour of the SQLAlchemy adapter: engines, transactions, UTC timestamps,
statement budgets, race safety, and agreement with the in-memory reference model.

Runs on SQLite (a temporary file) and on PostgreSQL when one is available: the ``postgres_url``
fixture of the shared harness, else ``$BOOKSHOP_TEST_POSTGRES_URL``; each test gets a fresh
database (ICU ``en-US`` collation when the server has ICU, so that code-point ordering is
really tested).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.sqlalchemy import (
    SqlBackend,
    count_statements,
    create_engine_for_url,
    migrate,
    open_sql_backend,
)
from bookshop_adapters.sqlalchemy.catalog import genre_subtree_ids
from bookshop_core.catalog.entities import (
    BookChanges,
    BookQuery,
    BookSort,
    NewBook,
    SortDirection,
)
from bookshop_core.errors import Conflict, Unavailable
from bookshop_core.kernel.pagination import PageRequest

NOW = datetime(2024, 5, 17, 9, 30, 15, 123456, tzinfo=UTC)


def new_book(
    title: str = "A Book",
    *,
    author: str = "An Author",
    price: str = "10.00",
    isbn: str | None = None,
    genre_id: int | None = None,
    publish_date: date | None = None,
    stock: int = 0,
    created_at: datetime = NOW,
) -> NewBook:
    return NewBook(
        title=title,
        author=author,
        price=Decimal(price),
        isbn=isbn,
        genre_id=genre_id,
        description=None,
        cover_image_url=None,
        publish_date=publish_date,
        stock_quantity=stock,
        created_at=created_at,
    )


# -- engines and URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_url",
    [
        "sqlite:///shop.db",
        "postgresql://u@localhost/db",
        "postgresql+psycopg://u@localhost/db",
        "mysql+aiomysql://u@localhost/db",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "not a url",
    ],
)
def test_create_engine_refuses_other_urls(bad_url: str) -> None:
    """Only file-backed sqlite+aiosqlite and postgresql+asyncpg URLs make an engine."""
    with pytest.raises(ValueError, match=r"URL|memory"):
        create_engine_for_url(bad_url)


async def test_sqlite_connections_get_the_pragmas(tmp_path: Any) -> None:
    """Every SQLite connection has foreign keys on, WAL, a busy timeout and NORMAL sync."""
    backend = await open_sql_backend(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with backend.engine.connect() as conn:
            values = {
                pragma: (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                for pragma in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
            }
    finally:
        await backend.aclose()
    assert values == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": 30000,
        "synchronous": 1,
    }


async def test_sqlite_write_units_begin_immediate_and_reads_plain_begin(tmp_path: Any) -> None:
    """Writes take the write lock up front (BEGIN IMMEDIATE); reads use a deferred BEGIN."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    await migrate(url)
    backend = await open_sql_backend(url, pool_size=1, max_overflow=0)
    seen: list[str] = []
    try:
        async with backend.engine.connect() as connection:  # the pool's only connection
            raw = await connection.get_raw_connection()
            # What SQLite itself runs (the BEGIN is sent straight to the driver).
            await raw.driver_connection.set_trace_callback(seen.append)
        async with backend.unit_of_work() as uow:
            await uow.genres.list_all()
        async with backend.unit_of_work(read_only=True) as uow:
            await uow.genres.list_all()
    finally:
        await backend.aclose()
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


#: The hand-offs to aiosqlite's worker thread that run one statement through SQLAlchemy.
_STATEMENT_HOPS = {"cursor", "execute", "fetchall", "close", "_one_trip"}


async def test_sqlite_transaction_control_is_one_driver_call_per_command(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hand-off to aiosqlite's thread costs tens of µs: a writing unit of work spends one
    on BEGIN, one on COMMIT or ROLLBACK, and none when its connection goes back to the pool;
    a read's BEGIN rides with its first statement."""
    import aiosqlite.core

    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    await migrate(url)
    backend = await open_sql_backend(url)
    hops: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def recording(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        name = fn.__name__
        hops.append(args[0] if name == "_execute_fetchall" else name)
        return await original(self, fn, *args, **kwargs)

    async def control(action: Any) -> list[str]:
        hops.clear()
        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", recording)
        try:
            await action()
        finally:
            monkeypatch.undo()
        return [hop for hop in hops if hop not in _STATEMENT_HOPS]

    async def read(statements: int = 1) -> None:
        async with backend.unit_of_work(read_only=True) as uow:
            for _ in range(statements):
                await uow.genres.list_all()

    async def write(name: str, *, commit: bool) -> None:
        async with backend.unit_of_work() as uow:
            await uow.genres.add(name, None)
            if commit:
                await uow.commit()

    try:
        assert await control(read) == ["rollback"]
        assert await control(lambda: read(statements=0)) == []
        assert await control(lambda: write("Kept", commit=True)) == ["BEGIN IMMEDIATE", "commit"]
        assert await control(lambda: write("Dropped", commit=False)) == [
            "BEGIN IMMEDIATE",
            "rollback",
        ]
    finally:
        await backend.aclose()


async def test_postgres_read_only_unit_refuses_writes(backend: SqlBackend) -> None:
    """On PostgreSQL a read-only unit of work runs a READ ONLY transaction."""
    if backend.dialect_name != "postgresql":
        pytest.skip("SQLite does not enforce read-only transactions")
    async with backend.unit_of_work(read_only=True) as uow:
        with pytest.raises(DBAPIError, match="read-only"):
            await uow.genres.add("Poetry", None)


async def test_postgres_reads_repeatable_and_writes_read_committed(backend: SqlBackend) -> None:
    """Read-only units of work run at REPEATABLE READ (one snapshot); writing ones at READ
    COMMITTED, with row locks for race safety; a pooled connection forgets the level."""
    if backend.dialect_name != "postgresql":
        pytest.skip("SQLite has no isolation levels: a transaction always reads one snapshot")
    show = text("SELECT current_setting('transaction_isolation')")
    levels = []
    for read_only in (True, False, True, False):
        async with backend.unit_of_work(read_only=read_only) as uow:
            levels.append((await uow.connection.execute(show)).scalar())
    assert levels == ["repeatable read", "read committed"] * 2


async def test_read_only_unit_of_work_reads_one_snapshot(backend: SqlBackend) -> None:
    """A read-only unit of work sees the store as of its first read, so a list's page and
    total agree with each other even while another transaction commits in between."""
    async with backend.unit_of_work() as uow:
        first = await uow.books.add(new_book("First"))
        await uow.commit()
    async with backend.unit_of_work(read_only=True) as reader:
        before = await reader.books.list(BookQuery(), PageRequest())
        async with backend.unit_of_work() as writer:
            await writer.books.add(new_book("Second"))
            await writer.commit()
        after = await reader.books.list(BookQuery(), PageRequest())
        by_id = await reader.books.get_many([first.id, first.id + 1])
    assert after == before
    assert (after.total, [b.title for b in after.items]) == (1, ["First"])
    assert [b.id for b in by_id] == [first.id]
    async with backend.unit_of_work(read_only=True) as uow:
        assert (await uow.books.list(BookQuery(), PageRequest())).total == 2


async def test_ping(backend: SqlBackend) -> None:
    """ping() answers True while the store is reachable."""
    assert await backend.ping() is True


async def test_ping_is_false_when_the_store_is_unreachable() -> None:
    """ping() never raises: an unreachable store is just False."""
    engine = create_engine_for_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    backend = SqlBackend(engine)
    try:
        assert await backend.ping() is False
    finally:
        await backend.aclose()


# -- units of work ----------------------------------------------------------------------------


async def test_unit_of_work_rolls_back_unless_committed(backend: SqlBackend) -> None:
    """Leaving a unit of work without commit() discards its changes; commit() keeps them."""
    async with backend.unit_of_work() as uow:
        await uow.genres.add("Discarded", None)

    async def fail_midway() -> None:
        async with backend.unit_of_work() as uow:
            await uow.genres.add("Also discarded", None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_midway()
    async with backend.unit_of_work() as uow:
        await uow.genres.add("Kept", None)
        await uow.commit()
    async with backend.unit_of_work(read_only=True) as uow:
        assert [g.name for g in await uow.genres.list_all()] == ["Kept"]


async def test_unit_of_work_outside_async_with_is_an_error(backend: SqlBackend) -> None:
    """Repositories exist only inside ``async with``."""
    uow = backend.unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.books


# -- time ------------------------------------------------------------------------------------


async def test_timestamps_round_trip_as_aware_utc(backend: SqlBackend) -> None:
    """Any aware instant goes in; the same instant comes out, in UTC, to the microsecond."""
    paris = timezone(timedelta(hours=2))
    instant = datetime(2024, 7, 1, 14, 5, 6, 999999, tzinfo=paris)
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book(created_at=instant))
        await uow.commit()
    async with backend.unit_of_work(read_only=True) as uow:
        loaded = await uow.books.get(book.id)
    assert loaded is not None
    assert loaded.created_at == instant
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at.hour == 12
    assert book.created_at == instant
    assert book.created_at.tzinfo is UTC


async def test_naive_timestamps_are_refused(backend: SqlBackend) -> None:
    """A naive datetime is a bug, never guessed to be UTC."""
    async with backend.unit_of_work() as uow:
        with pytest.raises(StatementError, match="naive"):
            await uow.books.add(new_book(created_at=datetime(2024, 1, 1)))


async def test_sqlite_stores_naive_utc_text(tmp_path: Any) -> None:
    """SQLite keeps the UTC wall time as fixed-width text (string order = time order)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    await migrate(url)
    backend = await open_sql_backend(url)
    try:
        async with backend.unit_of_work() as uow:
            await uow.books.add(new_book(created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)))
            await uow.commit()
            raw = (await uow.connection.execute(text("SELECT created_at FROM books"))).scalar()
    finally:
        await backend.aclose()
    assert raw == "2024-01-02 03:04:05.000000"


# -- statement budgets ------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [0, 1, 45])
async def test_list_is_two_statements_whatever_the_row_count(
    backend: SqlBackend, rows: int
) -> None:
    """list() = the page query + the count query, with every filter, at any size."""
    async with backend.unit_of_work() as uow:
        parent = await uow.genres.add("Fiction", None)
        child = await uow.genres.add("Fantasy", parent.id)
        await uow.books.add_many(
            [new_book(f"Book {i}", genre_id=child.id, stock=i) for i in range(rows)]
        )
        await uow.commit()
    query = BookQuery(
        genre_id=parent.id,
        author="auth",
        min_price=Decimal("1"),
        max_price=Decimal("100"),
        in_stock=True,
        sort=BookSort.AVG_RATING,
    )
    async with backend.unit_of_work(read_only=True) as uow:
        with count_statements(backend) as counted:
            page = await uow.books.list(query, PageRequest(1, 20))
    assert counted.count == 2, counted.statements
    assert page.total == max(rows - 1, 0)


async def test_set_stock_is_one_statement_on_postgres_and_two_on_sqlite(
    backend: SqlBackend,
) -> None:
    """set_stock locks, writes and reports the old stock in one UPDATE on PostgreSQL; SQLite
    (already holding the write lock since BEGIN IMMEDIATE) reads, then writes."""
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book(stock=7))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with count_statements(backend) as counted:
            change = await uow.books.set_stock(book.id, 3)
            missing = await uow.books.set_stock(book.id + 1, 3)
        await uow.commit()
    assert change is not None
    assert (change.book_id, change.before, change.after) == (book.id, 7, 3)
    assert missing is None
    per_call = 1 if backend.dialect_name == "postgresql" else 2
    assert counted.count == per_call + 1, counted.statements  # a missing book: 1 on either
    async with backend.unit_of_work(read_only=True) as uow:
        stored = await uow.books.get(book.id)
    assert stored is not None
    assert stored.stock_quantity == 3


async def test_count_statements_ignores_transaction_control(backend: SqlBackend) -> None:
    """BEGIN/COMMIT are not counted, so budgets mean the same on every backend."""
    with count_statements(backend.engine) as counted:
        async with backend.unit_of_work() as uow:
            await uow.genres.add("One", None)
            await uow.commit()
    assert counted.count == 1, counted.statements


async def test_bulk_writes_and_lookups_are_one_statement_per_batch(backend: SqlBackend) -> None:
    """add_many writes 500 rows per statement, in order, reporting progress per batch."""
    progress: list[int] = []
    drafts = [new_book(f"Bulk {i:04}", isbn=f"978{i:010}") for i in range(1100)]
    async with backend.unit_of_work() as uow:
        with count_statements(backend) as counted:
            added = await uow.books.add_many(drafts, progress=progress.append)
        await uow.commit()
    assert counted.count == 3
    assert progress == [500, 500, 100]
    assert [b.title for b in added] == [d.title for d in drafts]
    assert [b.id for b in added] == sorted(b.id for b in added)
    async with backend.unit_of_work(read_only=True) as uow:
        with count_statements(backend) as counted:
            found = await uow.books.find_by_isbns([drafts[5].isbn or "", "9780000000000x"])
            many = await uow.books.get_many([added[3].id, added[1].id, added[3].id, 10**9])
    assert counted.count == 2
    assert [b.id for b in found] == [added[5].id]
    assert [b.id for b in many] == [added[1].id, added[3].id]


# -- race safety ------------------------------------------------------------------------------


async def test_concurrent_stock_decrements_never_oversell(backend: SqlBackend) -> None:
    """30 concurrent buyers of a book with 10 in stock: exactly 10 succeed, stock ends at 0,
    and no writer fails with a lock error (SQLite writers queue on BEGIN IMMEDIATE)."""
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book(stock=10))
        await uow.commit()

    async def buy() -> str:
        async with backend.unit_of_work() as uow:
            current = await uow.books.get(book.id)  # read, then write: a lock upgrade
            assert current is not None
            try:
                await uow.books.adjust_stock(book.id, -1)
            except Conflict as exc:
                return exc.code
            await uow.commit()
            return "SOLD"

    results = await asyncio.gather(*(buy() for _ in range(30)))
    assert sorted(results) == ["BOOK_INSUFFICIENT_STOCK"] * 20 + ["SOLD"] * 10
    async with backend.unit_of_work(read_only=True) as uow:
        final = await uow.books.get(book.id)
    assert final is not None
    assert final.stock_quantity == 0


async def test_concurrent_set_stock_reports_consistent_changes(backend: SqlBackend) -> None:
    """Concurrent set_stock calls serialise: each 'before' is some other call's 'after'."""
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book(stock=0))
        await uow.commit()

    async def set_to(quantity: int) -> tuple[int, int]:
        async with backend.unit_of_work() as uow:
            change = await uow.books.set_stock(book.id, quantity)
            await uow.commit()
        assert change is not None
        return change.before, change.after

    changes = await asyncio.gather(*(set_to(q) for q in range(1, 13)))
    befores = sorted(before for before, _ in changes)
    afters = {after for _, after in changes}
    assert befores.count(0) == 1  # exactly one call saw the initial stock
    assert set(befores) - {0} <= afters  # every other saw a value some call wrote


# -- agreement with the in-memory reference model ---------------------------------------------

TITLES = ["éclair", "Eclair", "fable", "Zebra", "apple", "Ärger", "straße", "STRASSE", "a-c", "ab"]
AUTHORS = ["Ann 50% Lee", "ann_lee", "Bob Ross", "ÅSA Öberg", "Ann 5x Lee"]


async def _seed(uow: Any) -> dict[str, int]:
    """The same catalog, written through any backend's repositories (ids match)."""
    fiction = await uow.genres.add("Fiction", None)
    fantasy = await uow.genres.add("fantasy", fiction.id)
    epic = await uow.genres.add("Épic", fantasy.id)
    other = await uow.genres.add("Other", None)
    genres = [fiction.id, fantasy.id, epic.id, other.id, None]
    prices = ["9.99", "10.00", "10.01", "0.01", "999.99", "10.00"]
    for i in range(36):
        await uow.books.add(
            new_book(
                TITLES[i % len(TITLES)],
                author=AUTHORS[i % len(AUTHORS)],
                price=prices[i % len(prices)],
                genre_id=genres[i % len(genres)],
                publish_date=None if i % 3 == 0 else date(2000 + i % 7, 1, 1),
                stock=i % 4,
                created_at=NOW + timedelta(minutes=i % 5),
            )
        )
    return {"fiction": fiction.id, "fantasy": fantasy.id, "epic": epic.id, "other": other.id}


def _reviews(book_id: int) -> tuple[int, int]:
    """(review_count, rating_sum) for a book: ties (2/4 vs 1/2) and no reviews included."""
    table = [(0, 0), (2, 4), (1, 2), (3, 14), (4, 20), (0, 0), (6, 7)]
    return table[book_id % len(table)]


async def test_list_agrees_with_the_memory_reference(backend: SqlBackend) -> None:
    """Every sort, direction and filter gives the memory model's pages, items and totals."""
    memory = MemoryBackend()
    async with memory.unit_of_work() as uow:
        ids = await _seed(uow)
        await uow.commit()
    books = memory.store.table("books")
    for book_id, book in list(books.items()):
        count, total = _reviews(book_id)
        books[book_id] = attrs.evolve(book, review_count=count, rating_sum=total)
    async with backend.unit_of_work() as uow:
        assert await _seed(uow) == ids
        for book_id in books:
            count, total = _reviews(book_id)
            await uow.connection.execute(
                text("UPDATE books SET review_count = :c, rating_sum = :s WHERE id = :id"),
                {"c": count, "s": total, "id": book_id},
            )
        await uow.commit()

    filters: list[dict[str, Any]] = [
        {},
        {"genre_id": ids["fiction"]},
        {"genre_id": ids["fantasy"], "in_stock": True},
        {"genre_id": 10**6},
        {"author": "ann"},
        {"author": "50%"},
        {"author": "n_l"},
        {"author": "åsa"},
        {"min_price": Decimal("10.00")},
        {"max_price": Decimal("10.00")},
        {"min_price": Decimal("0.005"), "max_price": Decimal("10.005")},
        {"in_stock": True, "ids": frozenset({1, 2, 3, 4, 5, 6, 999})},
        {"ids": frozenset()},
    ]
    pages = [PageRequest(1, 7), PageRequest(3, 7), PageRequest(1, 100)]
    for sort in BookSort:
        for direction in SortDirection:
            for extra in filters:
                query = BookQuery(sort=sort, direction=direction, **extra)
                for page in pages:
                    async with memory.unit_of_work(read_only=True) as uow:
                        expected = await uow.books.list(query, page)
                    async with backend.unit_of_work(read_only=True) as uow:
                        actual = await uow.books.list(query, page)
                    assert actual == expected, (query, page)


async def test_genres_agree_with_the_memory_reference(backend: SqlBackend) -> None:
    """Genre listing order (case-folded code points, then id) and in-use checks match."""
    memory = MemoryBackend()
    results = []
    for target in (memory, backend):
        async with target.unit_of_work() as uow:
            ids = await _seed(uow)
            await uow.genres.update(ids["other"], name="épée")
            await uow.commit()
        async with target.unit_of_work(read_only=True) as uow:
            results.append(
                (
                    await uow.genres.list_all(),
                    [await uow.genres.is_in_use(i) for i in [*ids.values(), 999]],
                )
            )
    assert results[0] == results[1]


async def test_update_writes_the_given_fields_only(backend: SqlBackend) -> None:
    """update() writes the given text and price with their sort keys, and ``updated_at``;
    never another field, the stock or the review counters; it returns the stored book."""
    async with backend.unit_of_work() as uow:
        book = await uow.books.add(new_book("zzz", stock=5))
        other = await uow.books.add(new_book("mmm"))
        await uow.connection.execute(text("UPDATE books SET review_count = 2, rating_sum = 9"))
        later = NOW + timedelta(days=1)
        changes = BookChanges(title="Aardvark", author="New Author", price=Decimal("12.34"))
        returned = await uow.books.update(book.id, changes, later)
        await uow.commit()
    async with backend.unit_of_work(read_only=True) as uow:
        stored = await uow.books.get(book.id)
        by_title = await uow.books.list(BookQuery(author="new author"), PageRequest())
        ordered = await uow.books.list(BookQuery(sort=BookSort.TITLE), PageRequest())
    expected = attrs.evolve(
        book,
        title="Aardvark",
        author="New Author",
        price=Decimal("12.34"),
        updated_at=later,
        review_count=2,
        rating_sum=9,
    )
    assert stored == returned == expected
    assert [b.id for b in by_title.items] == [book.id]
    assert [b.id for b in ordered.items] == [book.id, other.id]


async def test_update_of_a_missing_row_returns_none(backend: SqlBackend) -> None:
    """books.update and genres.update of a row that does not exist write nothing: None."""
    async with backend.unit_of_work() as uow:
        assert await uow.books.update(12345, BookChanges(title="X"), NOW) is None
        assert await uow.genres.update(12345, name="X") is None
        assert await uow.genres.update(12345) is None


async def test_genre_subtree_query_ends_on_a_cycle(backend: SqlBackend) -> None:
    """The recursive genre subtree query is bounded: a cycle in the data still ends."""
    async with backend.unit_of_work() as uow:
        a = await uow.genres.add("A", None)
        b = await uow.genres.add("B", a.id)
        await uow.genres.update(a.id, parent_id=b.id)
        rows = await uow.connection.execute(genre_subtree_ids(a.id))
        assert {row.id for row in rows} == {a.id, b.id}


async def test_stock_changes_on_missing_books_return_none(backend: SqlBackend) -> None:
    """set_stock/adjust_stock/delete report a missing book instead of failing."""
    async with backend.unit_of_work() as uow:
        assert await uow.books.set_stock(12345, 3) is None
        assert await uow.books.adjust_stock(12345, 3) is None
        assert await uow.books.delete(12345) is False


async def test_open_sql_backend_on_an_unreachable_store_is_unavailable(tmp_path: Any) -> None:
    """Opening a store that cannot be reached is STORE_UNAVAILABLE, not a driver error."""
    with pytest.raises(Unavailable) as caught:
        await open_sql_backend(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    assert caught.value.code == "STORE_UNAVAILABLE"
    # aiosqlite stops the worker thread of a failed connection asynchronously; let it finish
    # before this test's event loop closes (else the thread reports "Event loop is closed").
    await asyncio.sleep(0.1)
    with pytest.raises(Unavailable) as caught:
        await open_sql_backend("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert caught.value.code == "STORE_UNAVAILABLE"
