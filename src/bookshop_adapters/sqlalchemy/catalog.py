"""SQL repositories of the catalog context: genres and books.

Their observable behaviour is the in-memory reference model's (``bookshop_adapters.memory``);
the contract suite runs both. Statement budgets: every method is one statement, except
``list`` (two: the page and the exact count), ``set_stock`` (two: lock-read, then write),
``adjust_stock`` (one; two more only when it fails) and ``add_many``/``find_by_isbns`` (one per
batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Double,
    Row,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import BookRow, GenreRow
from bookshop_core.catalog.entities import (
    Book,
    BookQuery,
    BookSort,
    Genre,
    NewBook,
    SortDirection,
    StockChange,
)
from bookshop_core.errors import Conflict
from bookshop_core.kernel.money import cents_to_money, money_to_cents
from bookshop_core.kernel.pagination import Page, PageRequest

__all__ = [
    "BOOK_COLUMNS",
    "SqlBookRepository",
    "SqlGenreRepository",
    "book_from_row",
    "genre_subtree_ids",
]

#: Rows per statement for bulk writes and lookups (well under every driver's parameter limit).
BATCH_SIZE: Final = 500

#: The columns :func:`book_from_row` reads, in one place for every query that loads books.
BOOK_COLUMNS: Final = (
    BookRow.id,
    BookRow.title,
    BookRow.author,
    BookRow.price_cents,
    BookRow.isbn,
    BookRow.genre_id,
    BookRow.description,
    BookRow.cover_image_url,
    BookRow.publish_date,
    BookRow.stock_quantity,
    BookRow.created_at,
    BookRow.updated_at,
    BookRow.review_count,
    BookRow.rating_sum,
)


def book_from_row(row: Row[Any]) -> Book:
    """The domain book of a row selected with :data:`BOOK_COLUMNS`."""
    return Book(
        id=row.id,
        title=row.title,
        author=row.author,
        price=cents_to_money(row.price_cents),
        isbn=row.isbn,
        genre_id=row.genre_id,
        description=row.description,
        cover_image_url=row.cover_image_url,
        publish_date=row.publish_date,
        stock_quantity=row.stock_quantity,
        created_at=row.created_at,
        updated_at=row.updated_at,
        review_count=row.review_count,
        rating_sum=row.rating_sum,
    )


def _descriptive_values(book: Book | NewBook) -> dict[str, Any]:
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


def _new_book_values(book: NewBook) -> dict[str, Any]:
    return {
        **_descriptive_values(book),
        "stock_quantity": book.stock_quantity,
        "created_at": book.created_at,
        "updated_at": book.created_at,
    }


def _insufficient_stock() -> Conflict:
    return Conflict("Not enough stock", code="BOOK_INSUFFICIENT_STOCK", field="stock_quantity")


def genre_subtree_ids(genre_id: int) -> Any:
    """A ``SELECT id`` of the genre and all its sub-genres (a recursive CTE), for use in
    ``column.in_(...)`` inside the same statement. ``UNION`` (not ``ALL``) stops on cycles."""
    tree = select(GenreRow.id).where(GenreRow.id == genre_id).cte("genre_tree", recursive=True)
    tree = tree.union(select(GenreRow.id).where(GenreRow.parent_id == tree.c.id))
    return select(tree.c.id)


class SqlGenreRepository(SqlRepository):
    """Genres in the ``genres`` table; ``name_key`` (case-folded name) is unique."""

    async def add(self, name: str, parent_id: int | None) -> Genre:
        statement = (
            insert(GenreRow)
            .values(name=name, name_key=name.casefold(), parent_id=parent_id)
            .returning(GenreRow.id)
        )
        genre_id: int = (await self._execute(statement)).scalar_one()
        return Genre(genre_id, name, parent_id)

    async def get(self, genre_id: int) -> Genre | None:
        statement = select(GenreRow.id, GenreRow.name, GenreRow.parent_id).where(
            GenreRow.id == genre_id
        )
        row = (await self._execute(statement)).one_or_none()
        return None if row is None else Genre(row.id, row.name, row.parent_id)

    async def list_all(self) -> Sequence[Genre]:
        statement = select(GenreRow.id, GenreRow.name, GenreRow.parent_id).order_by(
            GenreRow.name_key, GenreRow.id
        )
        rows = (await self._execute(statement)).all()
        return [Genre(row.id, row.name, row.parent_id) for row in rows]

    async def update(self, genre: Genre) -> None:
        statement = (
            update(GenreRow)
            .where(GenreRow.id == genre.id)
            .values(name=genre.name, name_key=genre.name.casefold(), parent_id=genre.parent_id)
        )
        await self._execute(statement)

    async def delete(self, genre_id: int) -> None:
        await self._execute(delete(GenreRow).where(GenreRow.id == genre_id))

    async def is_in_use(self, genre_id: int) -> bool:
        used_by_book = select(BookRow.id).where(BookRow.genre_id == genre_id).exists()
        has_child = select(GenreRow.id).where(GenreRow.parent_id == genre_id).exists()
        result = await self._execute(select(used_by_book | has_child))
        return bool(result.scalar_one())


class SqlBookRepository(SqlRepository):
    """Books in the ``books`` table: money in cents, case-folded keys for sorting/filtering."""

    async def add(self, book: NewBook) -> Book:
        statement = insert(BookRow).values(_new_book_values(book)).returning(*BOOK_COLUMNS)
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
                insert(BookRow)
                .values([_new_book_values(book) for book in batch])
                .returning(*BOOK_COLUMNS)
            )
            rows = (await self._execute(statement)).all()
            added.extend(book_from_row(row) for row in sorted(rows, key=lambda row: row.id))
            if progress is not None:
                progress(len(batch))
        return added

    async def get(self, book_id: int) -> Book | None:
        statement = select(*BOOK_COLUMNS).where(BookRow.id == book_id)
        row = (await self._execute(statement)).one_or_none()
        return None if row is None else book_from_row(row)

    async def find_by_isbns(self, isbns: Sequence[str]) -> Sequence[Book]:
        wanted = sorted(set(isbns))
        found: list[Book] = []
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            statement = select(*BOOK_COLUMNS).where(BookRow.isbn.in_(chunk))
            found.extend(book_from_row(row) for row in await self._execute(statement))
        return sorted(found, key=lambda b: b.id)

    async def get_many(self, book_ids: Sequence[int]) -> Sequence[Book]:
        wanted = sorted(set(book_ids))
        if not wanted:
            return []
        statement = select(*BOOK_COLUMNS).where(BookRow.id.in_(wanted)).order_by(BookRow.id)
        return [book_from_row(row) for row in await self._execute(statement)]

    async def update(self, book: Book) -> None:
        statement = (
            update(BookRow)
            .where(BookRow.id == book.id)
            .values(**_descriptive_values(book), updated_at=book.updated_at)
        )
        await self._execute(statement)

    async def delete(self, book_id: int) -> bool:
        result = await self._execute(delete(BookRow).where(BookRow.id == book_id))
        return result.rowcount > 0

    async def _locked_stock(self, book_id: int) -> int | None:
        """The book's stock, row-locked until the end of the transaction (``FOR UPDATE`` on
        PostgreSQL; SQLite's write transactions already hold the database's write lock)."""
        statement = select(BookRow.stock_quantity).where(BookRow.id == book_id).with_for_update()
        stock: int | None = (await self._execute(statement)).scalar_one_or_none()
        return stock

    async def _write_stock(self, book_id: int, quantity: int) -> None:
        statement = update(BookRow).where(BookRow.id == book_id).values(stock_quantity=quantity)
        await self._execute(statement)

    async def set_stock(self, book_id: int, quantity: int) -> StockChange | None:
        before = await self._locked_stock(book_id)
        if before is None:
            return None
        await self._write_stock(book_id, quantity)
        return StockChange(book_id, before, quantity)

    async def adjust_stock(self, book_id: int, delta: int) -> StockChange | None:
        # One guarded, atomic UPDATE: under concurrency PostgreSQL re-checks the guard on the
        # latest row version after waiting for its lock, so the stock never goes below 0.
        statement = (
            update(BookRow)
            .where(BookRow.id == book_id, BookRow.stock_quantity + delta >= 0)
            .values(stock_quantity=BookRow.stock_quantity + delta)
            .returning(BookRow.stock_quantity)
        )
        after: int | None = (await self._execute(statement)).scalar_one_or_none()
        if after is not None:
            return StockChange(book_id, after - delta, after)
        # Missing book, or not enough stock; decide on a locked read (the stock may have been
        # replenished in between, in which case the change now succeeds).
        before = await self._locked_stock(book_id)
        if before is None:
            return None
        if before + delta < 0:
            raise _insufficient_stock()
        await self._write_stock(book_id, before + delta)
        return StockChange(book_id, before, before + delta)

    async def list(self, query: BookQuery, page: PageRequest) -> Page[Book]:
        conditions = _conditions(query)
        page_statement = (
            select(*BOOK_COLUMNS)
            .where(*conditions)
            .order_by(*_ordering(query.sort, query.direction))
            .limit(page.limit)
            .offset(page.offset)
        )
        count_statement = select(func.count()).select_from(BookRow).where(*conditions)
        rows = (await self._execute(page_statement)).all()
        total: int = (await self._execute(count_statement)).scalar_one()
        return Page.of([book_from_row(row) for row in rows], total, page)


def _conditions(query: BookQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.ids is not None:
        conditions.append(BookRow.id.in_(sorted(query.ids)))
    if query.genre_id is not None:
        conditions.append(BookRow.genre_id.in_(genre_subtree_ids(query.genre_id)))
    if query.author is not None:
        needle = query.author.casefold()
        conditions.append(BookRow.author_key.contains(needle, autoescape=True))
    if query.min_price is not None:
        conditions.append(BookRow.price_cents >= _cents_at_least(query.min_price))
    if query.max_price is not None:
        conditions.append(BookRow.price_cents <= _cents_at_most(query.max_price))
    if query.in_stock:
        conditions.append(BookRow.stock_quantity > 0)
    return conditions


def _cents_at_least(amount: Decimal) -> int:
    """The smallest whole number of cents >= ``amount`` (exact for any Decimal)."""
    return math.ceil(amount * 100)


def _cents_at_most(amount: Decimal) -> int:
    """The largest whole number of cents <= ``amount``."""
    return math.floor(amount * 100)


def _sort_key(sort: BookSort) -> tuple[ColumnElement[Any], bool]:
    """The SQL sort key of ``sort`` and whether it can be NULL (a missing value)."""
    if sort is BookSort.TITLE:
        return BookRow.title_key.expression, False
    if sort is BookSort.PRICE:
        return BookRow.price_cents.expression, False
    if sort is BookSort.DATE:
        return BookRow.publish_date.expression, True
    if sort is BookSort.CREATED_AT:
        return BookRow.created_at.expression, False
    # Exact ratios compare the same as IEEE doubles here (small integer numerator and
    # denominator); NULL when there are no reviews.
    average = case(
        (BookRow.review_count > 0, cast(BookRow.rating_sum, Double()) / BookRow.review_count)
    )
    return average, True


def _ordering(sort: BookSort, direction: SortDirection) -> list[ColumnElement[Any]]:
    """By the key in ``direction``, missing values last either way, then id ascending."""
    key, nullable = _sort_key(sort)
    ordered = key.desc() if direction is SortDirection.DESC else key.asc()
    if nullable:
        ordered = ordered.nulls_last()
    return [ordered, BookRow.id.asc()]
