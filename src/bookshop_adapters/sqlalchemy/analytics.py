"""The SQL reports: each one aggregate statement, money summed as integer cents by the store.

Statement budget: one statement per method, whatever the number of orders, lines or books;
no row is read into Python to be summed.

- ``sales_totals``: one conditional aggregate over ``orders`` for every span at once (the
  ``ix_orders_status_created_at`` index bounds it to sales between the earliest start and the
  latest end). Revenue is ``orders.total_cents``, which checkout writes with the lines as
  their sum of quantity x unit price, so the lines need no join.
- ``top_books``: ``order_items`` joined to their sale orders, grouped by book and ranked in
  a subquery; lines of a deleted book (``book_id`` NULL) group by their title and author at
  purchase. Only the ranked rows are joined to ``books``, for a live book's current title.
- ``low_stock``: the first books by (stock, id) with ``COUNT(*) OVER ()`` for the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import BindParameter, ColumnElement, Row, and_, bindparam, case, func, select

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import BookRow, OrderItemRow, OrderRow, table_of
from bookshop_core.analytics.entities import (
    LowStockBook,
    LowStockReport,
    SalesTotals,
    TimeSpan,
    TopBook,
    TopBooksSort,
)
from bookshop_core.commerce.entities import SOLD_STATUSES
from bookshop_core.kernel.money import cents_to_money

__all__ = ["SqlReportRepository"]

_orders: Final = table_of(OrderRow)
_items: Final = table_of(OrderItemRow)
_books: Final = table_of(BookRow)

#: The sale statuses, rendered into the statement as literals (still one cached statement):
#: the planner then estimates the ``(status, created_at)`` index scan from the statistics of
#: these very values, also in PostgreSQL's generic plans of a prepared statement.
_SOLD: Final[BindParameter[list[str]]] = bindparam(
    "sold_statuses",
    sorted(status.value for status in SOLD_STATUSES),
    expanding=True,
    literal_execute=True,
)


def _in_span(span: TimeSpan) -> ColumnElement[bool]:
    return and_(_orders.c.created_at >= span.start, _orders.c.created_at < span.end)


def _cents(value: Any) -> int:
    """A SUM of cents as an int (PostgreSQL sums BIGINT into NUMERIC; no rows give NULL)."""
    return 0 if value is None else int(value)


class SqlReportRepository(SqlRepository):
    """Aggregates over ``orders``, ``order_items`` and ``books`` (read only)."""

    def _code_point(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # Ties among deleted books order by title as Python compares str (by code point);
        # SQLite's default BINARY collation already does.
        return column.collate("C") if self._dialect_name == "postgresql" else column

    async def sales_totals(self, spans: Sequence[TimeSpan]) -> Sequence[SalesTotals]:
        """Revenue and distinct orders per span (one statement)."""
        if not spans:
            return []
        columns = []
        for n, span in enumerate(spans):
            inside = _in_span(span)
            columns.append(func.sum(case((inside, _orders.c.total_cents))).label(f"cents_{n}"))
            columns.append(func.count(case((inside, _orders.c.id))).label(f"orders_{n}"))
        row = (
            await self._execute(
                select(*columns).where(
                    _orders.c.status.in_(_SOLD),
                    _orders.c.created_at >= min(span.start for span in spans),
                    _orders.c.created_at < max(span.end for span in spans),
                )
            )
        ).one()
        return [
            SalesTotals(revenue=cents_to_money(_cents(row[2 * n])), order_count=int(row[2 * n + 1]))
            for n in range(len(spans))
        ]

    async def top_books(
        self, sort_by: TopBooksSort, limit: int, span: TimeSpan | None
    ) -> Sequence[TopBook]:
        """Best sellers, grouped by book (deleted ones by title and author at purchase): the
        lines are ranked in an aggregate subquery, and only its ``limit`` rows are joined to
        ``books`` for the current titles (one statement)."""
        deleted = _items.c.book_id.is_(None)
        revenue = func.sum(_items.c.quantity * _items.c.unit_price_cents)
        units = func.sum(_items.c.quantity)
        ranked = (
            select(
                _items.c.book_id,
                func.max(_items.c.title).label("title"),
                func.max(_items.c.author).label("author"),
                revenue.label("revenue_cents"),
                units.label("units"),
            )
            .select_from(_items.join(_orders, _orders.c.id == _items.c.order_id))
            .where(_orders.c.status.in_(_SOLD))
            .group_by(
                _items.c.book_id,
                case((deleted, _items.c.title)),
                case((deleted, _items.c.author)),
            )
            .order_by(
                (revenue if sort_by is TopBooksSort.REVENUE else units).desc(),
                *self._tie_breaks(
                    _items.c.book_id, func.max(_items.c.title), func.max(_items.c.author)
                ),
            )
            .limit(limit)
        )
        if span is not None:
            ranked = ranked.where(_in_span(span))
        top = ranked.subquery("top")
        metric = top.c.revenue_cents if sort_by is TopBooksSort.REVENUE else top.c.units
        statement = (
            select(
                top.c.book_id,
                func.coalesce(_books.c.title, top.c.title).label("title"),
                func.coalesce(_books.c.author, top.c.author).label("author"),
                top.c.revenue_cents,
                top.c.units,
            )
            .select_from(top.outerjoin(_books, _books.c.id == top.c.book_id))
            .order_by(metric.desc(), *self._tie_breaks(top.c.book_id, top.c.title, top.c.author))
        )
        return [_top_book(row) for row in await self._execute(statement)]

    def _tie_breaks(
        self, book_id: ColumnElement[Any], title: ColumnElement[Any], author: ColumnElement[Any]
    ) -> tuple[ColumnElement[Any], ...]:
        """Ties: live books first by id (false sorts before true on both dialects; older
        SQLite versions lack NULLS LAST), then deleted ones by purchase title and author."""
        return (book_id.is_(None), book_id, self._code_point(title), self._code_point(author))

    async def low_stock(self, threshold: int, limit: int) -> LowStockReport:
        """The first low-stock books and their total (one statement)."""
        rows = (
            await self._execute(
                select(
                    _books.c.id,
                    _books.c.title,
                    _books.c.author,
                    _books.c.stock_quantity,
                    func.count().over().label("total"),
                )
                .where(_books.c.stock_quantity <= threshold)
                .order_by(_books.c.stock_quantity, _books.c.id)
                .limit(limit)
            )
        ).all()
        return LowStockReport(
            threshold=threshold,
            total=rows[0].total if rows else 0,
            items=[
                LowStockBook(
                    book_id=row.id,
                    title=row.title,
                    author=row.author,
                    current_stock=row.stock_quantity,
                )
                for row in rows
            ],
        )


def _top_book(row: Row[Any]) -> TopBook:
    return TopBook(
        book_id=row.book_id,
        title=row.title,
        author=row.author,
        total_revenue=cents_to_money(_cents(row.revenue_cents)),
        units_sold=int(row.units),
    )
