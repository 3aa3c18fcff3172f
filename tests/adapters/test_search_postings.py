"""The search postings (``search_postings``) on SQLite and PostgreSQL: the rows a document
makes, their upkeep by ``SqlSearchIndex.put``/``remove``/``clear`` and by the ``books``
trigger, and migration 0009 (backfill, downgrade).

What a search finds through the postings is pinned by the contract suite; these tests pin
the stored rows themselves, and that they still agree with ``books`` after a reindex raced
by stock changes.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, exists, inspect, or_, select, text, union, update
from sqlalchemy.engine import Connection

from bookshop_adapters.bootstrap import build_shop
from bookshop_adapters.sqlalchemy import (
    SqlBackend,
    count_statements,
    create_engine_for_url,
    downgrade,
    migrate,
)
from bookshop_adapters.sqlalchemy._postings import (
    PREFIX_LENGTHS,
    PREFIX_MASK,
    postings_rows,
    prefix_fields,
    prefix_shift,
    put_postings,
    share_books,
)
from bookshop_adapters.sqlalchemy.tables import BookRow, search_postings, table_of
from bookshop_adapters.stemming import SnowballStemmer
from bookshop_core import AdjustStock, NewBook, Principal, SetStock, StoreBusy
from bookshop_core.search.analysis import Analyzer, Field, SearchDocument, Token

ANALYZER = Analyzer(SnowballStemmer())
NOW = datetime(2024, 1, 1, tzinfo=UTC)
_books = table_of(BookRow)

#: A stored posting: (term, book_id, fields, word_fields, genre_id, price_cents, in_stock).
Row = tuple[str, int, int, int, int | None, int, bool]

T = TypeVar("T")


def _doc(book_id: int, **fields: Sequence[tuple[str, str]]) -> SearchDocument:
    """A document whose fields hold the given (word, lexeme) tokens."""
    return SearchDocument(
        book_id,
        tuple(
            Field(name, tuple(Token(w, lex, i) for i, (w, lex) in enumerate(fields.get(name, ()))))
            for name in ("title", "author", "description")
        ),
    )


def _analysed(book_id: int, title: str, author: str, description: str | None) -> SearchDocument:
    return ANALYZER.document_of(book_id, title=title, author=author, description=description)


async def _add_books(backend: SqlBackend, *stocks: int, genre_id: int | None = None) -> list[int]:
    """Books priced 1.00, 2.00... with these stock quantities."""
    drafts = [
        NewBook(
            title=f"Book {n}",
            author="Someone",
            price=Decimal(n + 1),
            isbn=None,
            genre_id=genre_id,
            description=None,
            cover_image_url=None,
            publish_date=None,
            stock_quantity=stock,
            created_at=NOW,
        )
        for n, stock in enumerate(stocks)
    ]
    async with backend.unit_of_work() as uow:
        added = await uow.books.add_many(drafts)
        await uow.commit()
    return [book.id for book in added]


async def _put(backend: SqlBackend, documents: Sequence[SearchDocument]) -> None:
    async with backend.unit_of_work() as uow:
        await uow.search_index.put(documents)
        await uow.commit()


async def _run(backend: SqlBackend, statement: Any, parameters: Any = None) -> None:
    """Run one statement in its own committed transaction."""
    async with backend.unit_of_work() as uow:
        await uow.connection.execute(statement, parameters)
        await uow.commit()


async def _rows(backend: SqlBackend, book_id: int | None = None) -> set[Row]:
    """The stored postings (of one book, or all)."""
    statement = select(search_postings)
    if book_id is not None:
        statement = statement.where(search_postings.c.book_id == book_id)
    async with backend.unit_of_work(read_only=True) as uow:
        result = await uow.connection.execute(statement)
        return {
            (r.term, r.book_id, r.fields, r.word_fields, r.genre_id, r.price_cents, r.in_stock)
            for r in result
        }


# -- the rows of a document (no database) -------------------------------------------------


def test_postings_rows_give_each_distinct_term_its_lexeme_and_word_bits() -> None:
    """One row per distinct lexeme or surface word, in term order: ``fields`` has the bits of
    the fields holding it as a lexeme (title 4, author 2, description 1), ``word_fields`` those
    holding it as a surface word; a word repeated in a field counts once."""
    document = _analysed(1, "Running Men", "Run Runner", "men ran running running")
    assert [row[:3] for row in postings_rows(document)] == [
        ("men", 4 | 1, 4 | 1),
        ("ran", 1, 1),
        ("run", 4 | 2 | 1, 2),
        ("runner", 2, 2),
        ("running", 0, 4 | 1),
    ]


def _at(lengths: range, fields: int) -> int:
    """``fields`` in the ``prefix_fields`` slots of these prefix lengths."""
    return sum(fields << prefix_shift(length) for length in lengths)


def test_a_surface_word_carries_the_fields_of_the_words_sharing_each_prefix_it_starts() -> None:
    """``prefix_fields``: at each prefix length where a surface word is the book's first word
    starting with that prefix, the OR of the fields of all its words starting with it; a pure
    lexeme carries none."""
    document = _analysed(1, "Running Men", "Run Runner", "men ran running running")
    assert {term: prefixes for term, _, _, prefixes in postings_rows(document)} == {
        "men": _at(range(1, 4), 4 | 1),
        # r: ran, run, runner, running; ra, ran: ran alone.
        "ran": _at(range(1, 2), 4 | 2 | 1) | _at(range(2, 4), 1),
        # ru, run: run, runner, running; r is ran's.
        "run": _at(range(2, 4), 4 | 2 | 1),
        # runn: runner, running; runne, runner: runner alone.
        "runner": _at(range(4, 5), 4 | 2 | 1) | _at(range(5, 7), 2),
        "running": _at(range(5, 8), 4 | 1),
    }


@given(
    st.dictionaries(
        st.text(alphabet="abé", min_size=1, max_size=PREFIX_LENGTHS + 3),
        st.integers(min_value=1, max_value=7),
        max_size=12,
    )
)
def test_each_prefix_s_fields_are_on_exactly_its_first_word(words: dict[str, int]) -> None:
    """For every prefix (up to ``PREFIX_LENGTHS``) of a book's words, among the words starting
    with it the first alone has its slot set, to the OR of all their fields."""
    ordered = sorted(words.items())
    masks = {w: mask for (w, _), mask in zip(ordered, prefix_fields(ordered), strict=True)}
    for prefix in {w[:n] for w in words for n in range(1, min(len(w), PREFIX_LENGTHS) + 1)}:
        holders = [w for w, _ in ordered if w.startswith(prefix)]
        slots = [masks[w] >> prefix_shift(len(prefix)) & PREFIX_MASK for w in holders]
        assert slots[0] == functools.reduce(operator.or_, (words[w] for w in holders))
        assert not any(slots[1:])


def test_postings_rows_drop_nul_and_skip_empty_tokens() -> None:
    """NUL is removed from tokens (as the full-text side does) and a token left empty, or
    empty to begin with, makes no row."""
    document = _doc(1, title=[("a\x00b", "ab"), ("\x00", "\x00"), ("", "")])
    assert postings_rows(document) == [("ab", 4, 4, _at(range(1, 3), 4))]


def test_postings_rows_of_an_empty_document_are_none() -> None:
    """A book without words has no postings."""
    assert postings_rows(_doc(1)) == []


# -- put, remove, clear -------------------------------------------------------------------


async def test_put_writes_one_row_per_term_with_the_books_attributes(
    backend: SqlBackend,
) -> None:
    """Each distinct term of the book is one row, with its bits and the book's genre, price
    in cents and whether it is in stock, read from ``books``."""
    async with backend.unit_of_work() as uow:
        genre = await uow.genres.add("Fiction", None)
        await uow.commit()
    stocked, sold_out = await _add_books(backend, 3, 0, genre_id=genre.id)
    await _put(
        backend,
        [_analysed(stocked, "Running Men", "Ann", None), _analysed(sold_out, "Men", "Bo", "x")],
    )
    assert await _rows(backend) == {
        ("men", stocked, 4, 4, genre.id, 100, True),
        ("run", stocked, 4, 0, genre.id, 100, True),
        ("running", stocked, 0, 4, genre.id, 100, True),
        ("ann", stocked, 2, 2, genre.id, 100, True),
        ("men", sold_out, 4, 4, genre.id, 200, False),
        ("bo", sold_out, 2, 2, genre.id, 200, False),
        ("x", sold_out, 1, 1, genre.id, 200, False),
    }


async def test_put_replaces_a_books_rows(backend: SqlBackend) -> None:
    """Putting a book again leaves exactly its new terms (no stale row), and a document
    without words leaves it none; other books keep theirs."""
    one, two = await _add_books(backend, 1, 1)
    await _put(
        backend, [_analysed(one, "Old Title", "Ann", None), _analysed(two, "Kept", "", None)]
    )
    await _put(backend, [_analysed(one, "New", "Ann", None)])
    assert {row[0] for row in await _rows(backend, one)} == {"new", "ann"}
    await _put(backend, [_doc(one)])
    assert await _rows(backend, one) == set()
    assert {row[0] for row in await _rows(backend, two)} == {"kept"}


async def test_put_of_the_same_book_twice_in_one_call_keeps_the_last(backend: SqlBackend) -> None:
    """A batch naming a book twice writes its last document only."""
    (book,) = await _add_books(backend, 1)
    await _put(backend, [_analysed(book, "First", "A", None), _analysed(book, "Second", "A", None)])
    assert {row[0] for row in await _rows(backend, book)} == {"second", "a"}


async def test_put_costs_the_same_statements_for_one_and_a_full_batch(
    backend: SqlBackend,
) -> None:
    """A put of one book and one of a full batch of 500 (33,000 rows) cost the same number of
    statements; 501 books are two batches."""
    ids = await _add_books(backend, *([1] * 501))
    documents = [_analysed(i, f"Title {i} word{i}", "Author", "Some longer text") for i in ids]
    counts = []
    for chunk in (documents[:1], documents[:500], documents):
        async with backend.unit_of_work() as uow:
            with count_statements(backend) as counted:
                await uow.search_index.put(chunk)
            await uow.commit()
        counts.append(counted.count)
    assert counts[0] == counts[1]
    assert counts[2] == 2 * counts[1]


async def test_remove_clear_and_a_deleted_book_drop_rows(backend: SqlBackend) -> None:
    """``remove`` drops the rows of the books named, deleting a book drops its rows (a
    trigger on ``books``), ``clear`` drops every row."""
    one, two, three = await _add_books(backend, 1, 1, 1)
    await _put(backend, [_analysed(i, "Shared", "A", None) for i in (one, two, three)])
    async with backend.unit_of_work() as uow:
        await uow.search_index.remove([one])
        await uow.commit()
    assert {row[1] for row in await _rows(backend)} == {two, three}
    await _run(backend, delete(_books).where(_books.c.id == two))
    assert {row[1] for row in await _rows(backend)} == {three}
    async with backend.unit_of_work() as uow:
        await uow.search_index.clear()
        await uow.commit()
    assert await _rows(backend) == set()


# -- the trigger on books -----------------------------------------------------------------


async def test_the_rows_follow_their_books_genre_price_and_stock(backend: SqlBackend) -> None:
    """A price change, a genre change (to and from none) and the stock crossing 0 either way
    rewrite the book's rows; other books' rows are untouched."""
    async with backend.unit_of_work() as uow:
        genre = await uow.genres.add("Fiction", None)
        await uow.commit()
    book, other = await _add_books(backend, 5, 5)
    await _put(backend, [_analysed(i, "Dune", "Herbert", None) for i in (book, other)])
    untouched = await _rows(backend, other)

    async def attributes() -> set[tuple[int | None, int, bool]]:
        return {(row[4], row[5], row[6]) for row in await _rows(backend, book)}

    changes: list[tuple[dict[str, Any], tuple[int | None, int, bool]]] = [
        ({"price_cents": 1999}, (None, 1999, True)),
        ({"genre_id": genre.id}, (genre.id, 1999, True)),
        ({"stock_quantity": 0}, (genre.id, 1999, False)),
        ({"stock_quantity": 3}, (genre.id, 1999, True)),
        ({"genre_id": None}, (None, 1999, True)),
    ]
    for values, expected in changes:
        await _run(backend, update(_books).where(_books.c.id == book).values(**values))
        assert await attributes() == {expected}, values
    assert await _rows(backend, other) == untouched


async def test_a_stock_change_that_keeps_a_book_in_stock_rewrites_nothing(
    backend: SqlBackend,
) -> None:
    """Stock 5 -> 4 (still in stock), 0 -> 0, a title edit and a same-value write do not fire
    the trigger: a marker written straight into the rows survives them."""
    (book,) = await _add_books(backend, 5)
    await _put(backend, [_analysed(book, "Dune", "Herbert", None)])
    marker = update(search_postings).where(search_postings.c.book_id == book)
    await _run(backend, marker.values(price_cents=-1))

    async def prices() -> set[int]:
        return {row[5] for row in await _rows(backend, book)}

    same_book = update(_books).where(_books.c.id == book)
    for values in ({"stock_quantity": 4}, {"title": "Dune II"}, {"price_cents": 100}):
        await _run(backend, same_book.values(**values))
        assert await prices() == {-1}, values
    await _run(backend, same_book.values(stock_quantity=0))  # crosses 0: rewritten
    assert await prices() == {100}
    await _run(backend, marker.values(price_cents=-1))
    await _run(backend, same_book.values(stock_quantity=0))
    assert await prices() == {-1}


# -- a reindex racing stock changes --------------------------------------------------------


async def _retrying_busy(action: Callable[[], Awaitable[T]], refusals: list[StoreBusy]) -> T:
    """``action()``, run again after each ``STORE_BUSY`` refusal (recorded), up to 5 times."""
    for _ in range(5):
        try:
            return await action()
        except StoreBusy as refusal:
            refusals.append(refusal)
    return await action()


async def _books_out_of_step(backend: SqlBackend) -> list[int]:
    """The books without postings or with a posting whose genre, price or stock flag is not
    the book's, and the deleted books that still have postings (one statement)."""
    of_book = search_postings.c.book_id == _books.c.id
    disagreeing = or_(
        search_postings.c.genre_id.is_distinct_from(_books.c.genre_id),
        search_postings.c.price_cents != _books.c.price_cents,
        search_postings.c.in_stock != (_books.c.stock_quantity > 0),
    )
    statement = union(
        select(_books.c.id).where(
            or_(~exists().where(of_book), exists().where(of_book, disagreeing))
        ),
        select(search_postings.c.book_id).where(~exists().where(of_book)),
    )
    async with backend.unit_of_work(read_only=True) as uow:
        return sorted((await uow.connection.execute(statement)).scalars())


async def test_a_reindex_racing_stock_changes_leaves_every_book_s_rows_in_step(
    backend: SqlBackend, admin: Principal
) -> None:
    """While a reindex (in batches of 20) rewrites the postings of 300 books in stock, ten
    writers keep taking their books out of stock and back, each change its own transaction:
    half by ``catalog.set_stock`` (which locks the book first, as a checkout does), half by
    ``catalog.adjust_stock`` (a plain guarded UPDATE). Afterwards every book's rows carry its
    genre, price and stock flag, whichever transaction came first. ``STORE_BUSY`` refusals
    (a deadlock victim) are retried; no other error is."""
    ids = await _add_books(backend, *([1] * 300))
    writers = 10
    refusals: list[StoreBusy] = []
    async with build_shop(backend=backend) as shop:
        await shop.search.reindex(admin)
        reindexed = asyncio.Event()

        async def reindex() -> None:
            try:
                await _retrying_busy(lambda: shop.search.reindex(admin, batch=20), refusals)
            finally:
                reindexed.set()

        async def set_stock(book_id: int, stock: int) -> None:
            command = SetStock(quantity=stock)
            await _retrying_busy(lambda: shop.catalog.set_stock(admin, book_id, command), refusals)

        async def adjust_stock(book_id: int, stock: int) -> None:
            command = AdjustStock(delta=2 * stock - 1)  # 1 -> 0: -1, 0 -> 1: +1
            await _retrying_busy(
                lambda: shop.catalog.adjust_stock(admin, book_id, command), refusals
            )

        async def toggle(own: list[int], change: Callable[[int, int], Awaitable[None]]) -> None:
            """Flip the stock of these books in turn (each at least once) until the reindex
            has finished."""
            stocks = dict.fromkeys(own, 1)
            turn = 0
            while turn < len(own) or not reindexed.is_set():
                book_id = own[turn % len(own)]
                stocks[book_id] = 1 - stocks[book_id]
                await change(book_id, stocks[book_id])
                turn += 1

        await asyncio.gather(
            reindex(),
            *(
                toggle(ids[k::writers], set_stock if k % 2 else adjust_stock)
                for k in range(writers)
            ),
        )
    assert await _books_out_of_step(backend) == [], f"{len(refusals)} STORE_BUSY refusals"


async def test_postings_rewritten_while_books_are_deleted_keep_no_row_of_a_deleted_book(
    backend: SqlBackend,
) -> None:
    """While one transaction rewrites the postings of 300 books in batches of 20 (as a
    reindex does), ten writers delete 100 of them, each by ``books.delete`` alone in its own
    transaction: afterwards no row is left of a deleted book, whichever transaction came
    first (no foreign key: the insert joins ``books``, a trigger on ``books`` deletes the
    rows), and every other book's rows are in step (``STORE_BUSY`` refusals, a deadlock
    victim, are retried; no other error is)."""
    ids = await _add_books(backend, *([1] * 300))
    documents = [_analysed(book_id, f"Book {book_id}", "Someone", None) for book_id in ids]
    await _put(backend, documents)
    writers = 10
    refusals: list[StoreBusy] = []

    async def rewrite() -> None:
        async with backend.unit_of_work() as uow:
            for start in range(0, len(documents), 20):
                batch = documents[start : start + 20]
                await share_books(uow.connection, [document.book_id for document in batch])
                await put_postings(uow.connection, batch)
            await uow.commit()

    async def delete_book(book_id: int) -> None:
        async with backend.unit_of_work() as uow:
            assert await uow.books.delete(book_id)
            await uow.commit()

    async def delete_books(own: list[int]) -> None:
        for book_id in own:
            await _retrying_busy(partial(delete_book, book_id), refusals)

    await asyncio.gather(
        _retrying_busy(rewrite, refusals),
        *(delete_books(ids[k : 10 * writers : writers]) for k in range(writers)),
    )
    assert await _books_out_of_step(backend) == [], f"{len(refusals)} STORE_BUSY refusals"
    async with backend.unit_of_work(read_only=True) as uow:
        statement = select(_books.c.id).order_by(_books.c.id)
        assert list((await uow.connection.execute(statement)).scalars()) == ids[100:]


async def test_a_reindex_racing_book_deletions_leaves_no_rows_of_a_deleted_book(
    backend: SqlBackend, admin: Principal
) -> None:
    """While a reindex (in batches of 20) rewrites the postings of 300 books, ten writers
    delete 100 of them, each by ``books.delete`` alone in its own transaction (the trigger on
    ``books`` deletes the rows, no foreign key): afterwards no row is left of a deleted book,
    whichever transaction came first, and every other book's rows are in step
    (``STORE_BUSY`` refusals, a deadlock victim, are retried; no other error is)."""
    ids = await _add_books(backend, *([1] * 300))
    writers = 10
    refusals: list[StoreBusy] = []
    async with build_shop(backend=backend) as shop:
        await shop.search.reindex(admin)

        async def reindex() -> None:
            await _retrying_busy(lambda: shop.search.reindex(admin, batch=20), refusals)

        async def delete_book(book_id: int) -> None:
            async with backend.unit_of_work() as uow:
                assert await uow.books.delete(book_id)  # only the row: no index upkeep
                await uow.commit()

        async def delete_books(own: list[int]) -> None:
            for book_id in own:
                await _retrying_busy(partial(delete_book, book_id), refusals)

        await asyncio.gather(
            reindex(), *(delete_books(ids[k : 10 * writers : writers]) for k in range(writers))
        )
    assert await _books_out_of_step(backend) == [], f"{len(refusals)} STORE_BUSY refusals"
    async with backend.unit_of_work(read_only=True) as uow:
        statement = select(_books.c.id).order_by(_books.c.id)
        assert list((await uow.connection.execute(statement)).scalars()) == ids[100:]


# -- migration 0009 -----------------------------------------------------------------------


async def _insert_books_at_0008(url: str, count: int) -> None:
    engine = create_engine_for_url(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO books (id, title, title_key, author, author_key, price_cents, "
                    "stock_quantity, description, created_at, updated_at) VALUES (:id, :title, "
                    ":key, 'García', 'garcía', :price, :stock, :description, "
                    "'2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')"
                ),
                [
                    {
                        "id": n,
                        "title": f"Volume {n}",
                        "key": f"volume {n}",
                        "price": 100 + n,
                        "stock": n % 2,
                        "description": "Running whales" if n % 500 == 0 else None,
                    }
                    for n in range(1, count + 1)
                ],
            )
    finally:
        await engine.dispose()


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_engine_for_url(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _postings_schema(conn: Connection) -> dict[str, Any]:
    """Whether the table exists, and the trigger (and PostgreSQL function) names left."""
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT name FROM sqlite_master WHERE name LIKE 'search_postings%' AND type = 'trigger'"
        )
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'search_postings%' "
            "UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'search_postings%'"
        )
    return {
        "table": "search_postings" in inspect(conn).get_table_names(),
        "routines": {row[0] for row in conn.execute(text(query))},
    }


async def test_upgrading_to_0009_writes_the_postings_of_stored_books(url: str) -> None:
    """A database upgraded from 0008 with books (more than two batches) gets every book's
    postings, as ``put`` would write them, with its attributes, and the triggers; downgrading
    to 0008 removes the table, the triggers and their functions, and upgrading again works."""
    await migrate(url, "0008")
    await _insert_books_at_0008(url, 1203)
    await migrate(url, "0009")
    engine = create_engine_for_url(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(search_postings))
            stored = {
                (r.term, r.book_id, r.fields, r.word_fields, r.genre_id, r.price_cents, r.in_stock)
                for r in result
            }
    finally:
        await engine.dispose()
    expected = {
        (term, n, fields, words, None, 100 + n, n % 2 == 1)
        for n in range(1, 1204)
        for term, fields, words, _ in postings_rows(
            _analysed(n, f"Volume {n}", "García", "Running whales" if n % 500 == 0 else None)
        )
    }
    assert stored == expected
    assert ("run", 1000, 1, 0, None, 1100, False) in stored
    schema = await _inspect(url, _postings_schema)
    assert schema["table"]
    assert {"search_postings_follow_book", "search_postings_forget_book"} <= schema["routines"]
    await downgrade(url, "0008")
    assert await _inspect(url, _postings_schema) == {"table": False, "routines": set()}
    await migrate(url)
    assert (await _inspect(url, _postings_schema))["table"]


async def test_the_postings_are_one_covering_b_tree(backend: SqlBackend) -> None:
    """PostgreSQL: the primary key carries every other column (index-only scans) and sorts
    terms by code point; SQLite: the table is its primary key (``WITHOUT ROWID``)."""
    async with backend.unit_of_work(read_only=True) as uow:
        if backend.engine.dialect.name == "postgresql":
            statement = "SELECT pg_get_indexdef('pk_search_postings'::regclass)"
            definition = (await uow.connection.execute(text(statement))).scalar_one()
            included = "fields, word_fields, prefix_fields, genre_id, price_cents, in_stock"
            assert definition.endswith(f"(term, book_id) INCLUDE ({included})"), definition
            statement = (
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_name = 'search_postings' AND column_name = 'term'"
            )
            assert (await uow.connection.execute(text(statement))).scalar_one() == "C"
        else:
            statement = "SELECT sql FROM sqlite_master WHERE name = 'search_postings'"
            definition = (await uow.connection.execute(text(statement))).scalar_one()
            assert definition.rstrip().endswith("WITHOUT ROWID"), definition
