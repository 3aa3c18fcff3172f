"""SQL repositories of the catalog context: genres and books.

Their observable behaviour is the in-memory reference model's (``bookshop_adapters.memory``);
the contract suite runs both. Statement budgets: every method is one statement, except
``list`` (two: the page and the exact count), ``set_stock`` (one on PostgreSQL; two on SQLite:
read, then write), ``adjust_stock`` (one; two more only when it fails) and
``add_many``/``find_by_isbns`` (one per batch).

Statements are written against the tables' columns (``BookRow.__table__.c``), not the mapped
attributes (``BookRow.id``): a statement with mapped attributes goes through the ORM's compile
plugin on every execution (about 0.1 ms each). The statements of the hot paths are built once,
with bound parameters (see the comment above ``_GET_BOOK``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Row,
    Select,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)

from bookshop_adapters.sqlalchemy.filters import (
    LIKE_ESCAPE,
    cents_at_least,
    cents_at_most,
    like_literal,
)
from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import BookRow, GenreRow, table_of
from bookshop_core.catalog.entities import (
    MAX_GENRE_DEPTH,
    Book,
    BookChanges,
    BookQuery,
    BookSort,
    Genre,
    NewBook,
    SortDirection,
    StockChange,
)
from bookshop_core.catalog.errors import InsufficientStock
from bookshop_core.kernel.money import cents_to_money, money_to_cents
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.validation import UNSET, Unset

__all__ = [
    "BOOK_COLUMNS",
    "SqlBookRepository",
    "SqlGenreRepository",
    "book_from_row",
    "genre_subtree_ids",
    "listing_ordering",
    "listing_sort_key",
]

#: Rows per statement for bulk writes and lookups (well under every driver's parameter limit).
BATCH_SIZE: Final = 500

_books: Final = table_of(BookRow)
_genres: Final = table_of(GenreRow)

#: The columns :func:`book_from_row` reads, in one place for every query that loads books.
BOOK_COLUMNS: Final = (
    _books.c.id,
    _books.c.title,
    _books.c.author,
    _books.c.price_cents,
    _books.c.isbn,
    _books.c.genre_id,
    _books.c.description,
    _books.c.cover_image_url,
    _books.c.publish_date,
    _books.c.stock_quantity,
    _books.c.created_at,
    _books.c.updated_at,
    _books.c.review_count,
    _books.c.rating_sum,
)

# The fixed-shape statements of the hot paths, built once with bound parameters. Executing the
# same statement object lets SQLAlchemy reuse its cache key and compiled form as they are; a
# statement built on each call is walked to compute its key, then the cached result metadata is
# adapted to it (about 0.1 ms a statement).

#: ``books.get``: one book by id.
_GET_BOOK: Final = select(*BOOK_COLUMNS).where(_books.c.id == bindparam("book_id"))

#: A book's stock, row-locked until the end of the transaction (``FOR UPDATE`` on PostgreSQL;
#: SQLite drops the clause: its write transactions already hold the database's write lock).
_LOCKED_STOCK: Final = (
    select(_books.c.stock_quantity).where(_books.c.id == bindparam("book_id")).with_for_update()
)

#: Sets a book's stock (after :data:`_LOCKED_STOCK`, in the same transaction).
_WRITE_STOCK: Final = (
    update(_books)
    .where(_books.c.id == bindparam("book_id"))
    .values(stock_quantity=bindparam("quantity"))
)

_locked_book: Final = (
    select(_books.c.id, _books.c.stock_quantity)
    .where(_books.c.id == bindparam("book_id"))
    .with_for_update()
    .subquery("locked")
)

#: PostgreSQL's ``set_stock`` in one statement: the ``FOR UPDATE`` sub-select locks the row and
#: yields its latest committed stock (having waited for a concurrent writer, READ COMMITTED
#: re-reads the row), which ``RETURNING`` reports as the stock before the write. SQLite cannot
#: return a ``FROM`` table's columns: it reads (:data:`_LOCKED_STOCK`), then writes.
_SET_STOCK_RETURNING_BEFORE: Final = (
    update(_books)
    .where(_books.c.id == _locked_book.c.id)
    .values(stock_quantity=bindparam("quantity"))
    .returning(_locked_book.c.stock_quantity)
)

#: ``adjust_stock``: one guarded, atomic UPDATE. Under concurrency PostgreSQL re-checks the
#: guard on the latest row version after waiting for its lock, so the stock never goes below 0.
_ADJUST_STOCK: Final = (
    update(_books)
    .where(_books.c.id == bindparam("book_id"), _books.c.stock_quantity + bindparam("delta") >= 0)
    .values(stock_quantity=_books.c.stock_quantity + bindparam("delta"))
    .returning(_books.c.stock_quantity)
)

#: ``books.get_many``, in id order (the ids expand into an IN list when executed).
_GET_BOOKS: Final = (
    select(*BOOK_COLUMNS)
    .where(_books.c.id.in_(bindparam("book_ids", expanding=True)))
    .order_by(_books.c.id)
)

#: ``books.books_after``: the next batch of a walk over every book, by primary key (keyset).
_BOOKS_AFTER: Final = (
    select(*BOOK_COLUMNS)
    .where(_books.c.id > bindparam("after"))
    .order_by(_books.c.id)
    .limit(bindparam("limit"))
)

#: ``genres.get`` (checked by every book write that names a genre).
_GET_GENRE: Final = select(_genres.c.id, _genres.c.name, _genres.c.parent_id).where(
    _genres.c.id == bindparam("genre_id")
)

#: ``genres.lock_tree`` on PostgreSQL: a transaction-scoped advisory lock that only other
#: callers of ``lock_tree`` wait for (no table lock: nothing else on ``genres`` is held off,
#: and no lock is upgraded, so no deadlock). The key is fixed: "bookshop genre tree".
_LOCK_GENRE_TREE: Final = text("SELECT pg_advisory_xact_lock(4236482736211591246)")


def book_from_row(row: Row[Any]) -> Book:
    """The domain book of a row that selected :data:`BOOK_COLUMNS` together, in their order
    (``select(..., *BOOK_COLUMNS, ...)``), wherever they are among its columns.

    Read by position from where ``id`` is: a row's attribute lookup by name costs about 0.3 µs
    a column (4 µs a book), its index lookup 0.04 µs.
    """
    try:  # SQLAlchemy's index of the row's keys (every 2.x Row has it; not documented)
        at: int = row._key_to_index["id"]
    except (AttributeError, KeyError):
        at = row._fields.index("id")
    (
        book_id,
        title,
        author,
        price_cents,
        isbn,
        genre_id,
        description,
        cover_image_url,
        publish_date,
        stock_quantity,
        created_at,
        updated_at,
        review_count,
        rating_sum,
    ) = row[at : at + len(BOOK_COLUMNS)]
    return Book(
        id=book_id,
        title=title,
        author=author,
        price=cents_to_money(price_cents),
        isbn=isbn,
        genre_id=genre_id,
        description=description,
        cover_image_url=cover_image_url,
        publish_date=publish_date,
        stock_quantity=stock_quantity,
        created_at=created_at,
        updated_at=updated_at,
        review_count=review_count,
        rating_sum=rating_sum,
    )


def _descriptive_values(book: NewBook) -> dict[str, Any]:
    """The columns a caller describes (not stock, not review counters), keys included."""
    return {
        "title": book.title,
        "title_key": book.title.casefold(),
        "author": book.author,
        "author_key": book.author.casefold(),
        "price_cents": money_to_cents(book.price),
        "isbn": book.isbn,
        "genre_id": book.genre_id,
        "description": book.description,
        "cover_image_url": book.cover_image_url,
        "publish_date": book.publish_date,
    }


def _changed_values(changes: BookChanges) -> dict[str, Any]:
    """The columns of the given fields only, derived keys included."""
    given = changes.given()
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name == "price":
            values["price_cents"] = money_to_cents(value)
        else:
            values[name] = value
        if name in ("title", "author"):
            values[f"{name}_key"] = value.casefold()
    return values


def _new_book_values(book: NewBook) -> dict[str, Any]:
    return {
        **_descriptive_values(book),
        "stock_quantity": book.stock_quantity,
        "created_at": book.created_at,
        "updated_at": book.created_at,
    }


def genre_subtree_ids(genre_id: int | ColumnElement[int]) -> Any:
    """A ``SELECT id`` of the genre and its sub-genres down to ``MAX_GENRE_DEPTH`` levels (a
    recursive CTE), for use in ``column.in_(...)`` inside the same statement. The level
    bound ends the recursion whatever the data (a cycle included; ids may then repeat,
    which ``IN`` does not mind).

    Args:
        genre_id: The genre's id, or a ``bindparam`` standing for it.
    """
    one: ColumnElement[int] = literal_column("1", Integer())
    tree = (
        select(_genres.c.id, one.label("level"))
        .where(_genres.c.id == genre_id)
        .cte("genre_tree", recursive=True)
    )
    tree = tree.union_all(
        select(_genres.c.id, tree.c.level + one).where(
            _genres.c.parent_id == tree.c.id, tree.c.level < literal_column(str(MAX_GENRE_DEPTH))
        )
    )
    return select(tree.c.id)


class SqlGenreRepository(SqlRepository):
    """Genres in the ``genres`` table; ``name_key`` (case-folded name) is unique."""

    async def add(self, name: str, parent_id: int | None) -> Genre:
        statement = (
            insert(_genres)
            .values(name=name, name_key=name.casefold(), parent_id=parent_id)
            .returning(_genres.c.id)
        )
        genre_id: int = (await self._execute(statement)).scalar_one()
        return Genre(genre_id, name, parent_id)

    async def get(self, genre_id: int) -> Genre | None:
        row = (await self._execute(_GET_GENRE, {"genre_id": genre_id})).one_or_none()
        return None if row is None else Genre(row.id, row.name, row.parent_id)

    async def list_all(self) -> Sequence[Genre]:
        statement = select(_genres.c.id, _genres.c.name, _genres.c.parent_id).order_by(
            _genres.c.name_key, _genres.c.id
        )
        rows = (await self._execute(statement)).all()
        return [Genre(row.id, row.name, row.parent_id) for row in rows]

    async def lock_tree(self) -> None:
        # SQLite: a writing transaction began with BEGIN IMMEDIATE and holds the database's
        # write lock, so no other writer runs until it ends.
        if self._dialect_name == "postgresql":
            await self._execute(_LOCK_GENRE_TREE)

    async def update(
        self, genre_id: int, *, name: str | Unset = UNSET, parent_id: int | Unset | None = UNSET
    ) -> Genre | None:
        values: dict[str, Any] = {}
        if name is not UNSET:
            values.update(name=name, name_key=name.casefold())
        if parent_id is not UNSET:
            values["parent_id"] = parent_id
        if not values:
            return await self.get(genre_id)
        # One statement: the given columns only, on the row as it is when locked.
        statement = (
            update(_genres)
            .where(_genres.c.id == genre_id)
            .values(values)
            .returning(_genres.c.id, _genres.c.name, _genres.c.parent_id)
        )
        row = (await self._execute(statement)).one_or_none()
        return None if row is None else Genre(row.id, row.name, row.parent_id)

    async def delete(self, genre_id: int) -> None:
        await self._execute(delete(_genres).where(_genres.c.id == genre_id))

    async def is_in_use(self, genre_id: int) -> bool:
        used_by_book = select(_books.c.id).where(_books.c.genre_id == genre_id).exists()
        has_child = select(_genres.c.id).where(_genres.c.parent_id == genre_id).exists()
        result = await self._execute(select(used_by_book | has_child))
        return bool(result.scalar_one())


class SqlBookRepository(SqlRepository):
    """Books in the ``books`` table: money in cents, case-folded keys for sorting/filtering."""

    async def add(self, book: NewBook) -> Book:
        statement = insert(_books).values(_new_book_values(book)).returning(*BOOK_COLUMNS)
        return book_from_row((await self._execute(statement)).one())

    async def add_many(
        self, books: Sequence[NewBook], *, progress: Callable[[int], None] | None = None
    ) -> Sequence[Book]:
        added: list[Book] = []
        for start in range(0, len(books), BATCH_SIZE):
            batch = books[start : start + BATCH_SIZE]
            # One multi-row INSERT per batch. Both backends number the rows of one statement
            # in VALUES order (rowid / identity), so sorting by id restores the input order
            # whatever order RETURNING uses.
            statement = (
                insert(_books)
                .values([_new_book_values(book) for book in batch])
                .returning(*BOOK_COLUMNS)
            )
            rows = (await self._execute(statement)).all()
            added.extend(book_from_row(row) for row in sorted(rows, key=lambda row: row.id))
            if progress is not None:
                progress(len(batch))
        return added

    async def get(self, book_id: int) -> Book | None:
        row = (await self._execute(_GET_BOOK, {"book_id": book_id})).one_or_none()
        return None if row is None else book_from_row(row)

    async def find_by_isbns(self, isbns: Sequence[str]) -> Sequence[Book]:
        wanted = sorted(set(isbns))
        found: list[Book] = []
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            statement = select(*BOOK_COLUMNS).where(_books.c.isbn.in_(chunk))
            found.extend(book_from_row(row) for row in await self._execute(statement))
        return sorted(found, key=lambda b: b.id)

    async def get_many(self, book_ids: Sequence[int]) -> Sequence[Book]:
        wanted = sorted(set(book_ids))
        if not wanted:
            return []
        rows = await self._execute(_GET_BOOKS, {"book_ids": wanted})
        return [book_from_row(row) for row in rows]

    async def books_after(self, book_id: int, limit: int) -> Sequence[Book]:
        rows = await self._execute(_BOOKS_AFTER, {"after": book_id, "limit": limit})
        return [book_from_row(row) for row in rows]

    async def update(self, book_id: int, changes: BookChanges, updated_at: datetime) -> Book | None:
        # One statement writing the given columns only: concurrent updates of other columns
        # survive (PostgreSQL re-applies it to the latest row version after waiting for the
        # row lock), and a book deleted meanwhile matches no row.
        statement = (
            update(_books)
            .where(_books.c.id == book_id)
            .values(**_changed_values(changes), updated_at=updated_at)
            .returning(*BOOK_COLUMNS)
        )
        row = (await self._execute(statement)).one_or_none()
        return None if row is None else book_from_row(row)

    async def delete(self, book_id: int) -> bool:
        result = await self._execute(delete(_books).where(_books.c.id == book_id))
        return result.rowcount > 0

    async def _locked_stock(self, book_id: int) -> int | None:
        """The book's stock, locked until the end of the transaction (see :data:`_LOCKED_STOCK`)."""
        result = await self._execute(_LOCKED_STOCK, {"book_id": book_id})
        stock: int | None = result.scalar_one_or_none()
        return stock

    async def _write_stock(self, book_id: int, quantity: int) -> None:
        await self._execute(_WRITE_STOCK, {"book_id": book_id, "quantity": quantity})

    async def set_stock(self, book_id: int, quantity: int) -> StockChange | None:
        if self._dialect_name == "postgresql":
            parameters = {"book_id": book_id, "quantity": quantity}
            result = await self._execute(_SET_STOCK_RETURNING_BEFORE, parameters)
            before: int | None = result.scalar_one_or_none()
        else:
            # A writing unit of work on SQLite began with BEGIN IMMEDIATE: nobody else can
            # write between this read and the write.
            before = await self._locked_stock(book_id)
            if before is not None:
                await self._write_stock(book_id, quantity)
        return None if before is None else StockChange(book_id, before, quantity)

    async def adjust_stock(self, book_id: int, delta: int) -> StockChange | None:
        result = await self._execute(_ADJUST_STOCK, {"book_id": book_id, "delta": delta})
        after: int | None = result.scalar_one_or_none()
        if after is not None:
            return StockChange(book_id, after - delta, after)
        # Missing book, or not enough stock; decide on a locked read (the stock may have been
        # replenished in between, in which case the change now succeeds).
        before = await self._locked_stock(book_id)
        if before is None:
            return None
        if before + delta < 0:
            raise InsufficientStock()
        await self._write_stock(book_id, before + delta)
        return StockChange(book_id, before, before + delta)

    async def list(self, query: BookQuery, page: PageRequest) -> Page[Book]:
        shape, parameters = _list_shape_and_parameters(query)
        page_statement, count_statement = _list_statements(shape)
        parameters.update(limit=page.limit, offset=page.offset)
        rows = (await self._execute(page_statement, parameters)).all()
        total: int = (await self._execute(count_statement, parameters)).scalar_one()
        return Page.of([book_from_row(row) for row in rows], total, page)


class _ListShape(NamedTuple):
    """Which filters a listing uses, and its order: everything but the parameters' values."""

    ids: bool
    genre: bool
    author: bool
    min_price: bool
    max_price: bool
    in_stock: bool
    sort: BookSort
    direction: SortDirection


def _list_shape_and_parameters(query: BookQuery) -> tuple[_ListShape, dict[str, Any]]:
    """The shape of ``query``'s statements and the values of their parameters."""
    parameters: dict[str, Any] = {}
    if query.ids is not None:
        parameters["ids"] = sorted(query.ids)
    if query.genre_id is not None:
        parameters["genre_id"] = query.genre_id
    if query.author is not None:
        parameters["author"] = like_literal(query.author.casefold())
    if query.min_price is not None:
        parameters["min_cents"] = cents_at_least(query.min_price)
    if query.max_price is not None:
        parameters["max_cents"] = cents_at_most(query.max_price)
    shape = _ListShape(
        ids=query.ids is not None,
        genre=query.genre_id is not None,
        author=query.author is not None,
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock=query.in_stock,
        sort=query.sort,
        direction=query.direction,
    )
    return shape, parameters


# Built once per shape (at most 2**6 filter combinations x 5 sorts x 2 directions), for the
# reason given above _GET_BOOK: listing is two statements, each with a recursive CTE to build.
@functools.cache
def _list_statements(shape: _ListShape) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements of a listing of this shape, with bound parameters
    ``ids``, ``genre_id``, ``author``, ``min_cents``, ``max_cents``, ``limit``, ``offset``."""
    conditions: list[ColumnElement[bool]] = []
    if shape.ids:
        conditions.append(_books.c.id.in_(bindparam("ids", expanding=True)))
    if shape.genre:
        conditions.append(_books.c.genre_id.in_(genre_subtree_ids(bindparam("genre_id"))))
    if shape.author:
        conditions.append(_books.c.author_key.contains(bindparam("author"), escape=LIKE_ESCAPE))
    if shape.min_price:
        conditions.append(_books.c.price_cents >= bindparam("min_cents"))
    if shape.max_price:
        conditions.append(_books.c.price_cents <= bindparam("max_cents"))
    if shape.in_stock:
        conditions.append(_books.c.stock_quantity > 0)
    page_statement = (
        select(*BOOK_COLUMNS)
        .where(*conditions)
        .order_by(*listing_ordering(shape.sort, shape.direction))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count_statement = select(func.count()).select_from(_books).where(*conditions)
    return page_statement, count_statement


def listing_sort_key(sort: BookSort) -> tuple[ColumnElement[Any], bool]:
    """The SQL sort key of ``sort`` and whether it can be NULL (a missing value)."""
    if sort is BookSort.TITLE:
        return _books.c.title_key, False
    if sort is BookSort.PRICE:
        return _books.c.price_cents, False
    if sort is BookSort.DATE:
        return _books.c.publish_date, True
    if sort is BookSort.CREATED_AT:
        return _books.c.created_at, False
    # Exact ratios compare the same as IEEE doubles here (small integer numerator and
    # denominator); NULL when there are no reviews.
    reviews = _books.c.review_count
    average = case((reviews > 0, cast(_books.c.rating_sum, Double()) / reviews))
    return average, True


def listing_ordering(sort: BookSort, direction: SortDirection) -> list[ColumnElement[Any]]:
    """By the key in ``direction``, missing values last either way, then id ascending."""
    key, nullable = listing_sort_key(sort)
    ordered = key.desc() if direction is SortDirection.DESC else key.asc()
    if nullable:
        ordered = ordered.nulls_last()
    return [ordered, _books.c.id.asc()]
