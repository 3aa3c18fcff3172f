"""The in-memory reports: the reference model of ``ReportRepository``.

Reads the commerce context's ``orders`` table (core :class:`~bookshop_core.commerce.Order`
values) and the catalog's ``books``. An order line whose book is no longer in ``books`` reads
as a deleted book (``book_id`` ``None``), as the SQL foreign key's ``ON DELETE SET NULL``
makes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.analytics.entities import (
    LowStockBook,
    LowStockReport,
    SalesTotals,
    TimeSpan,
    TopBook,
    TopBooksSort,
)
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.entities import SOLD_STATUSES, Order

__all__ = ["MemoryReportRepository"]

#: A live book's group is its id; a deleted book's, its title and author at purchase.
_GroupKey = tuple[int | None, str, str]


class MemoryReportRepository:
    """Aggregates over the memory store's orders and books (read only).

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal (unused: reports never write).
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._orders: dict[int, Order] = store.table("orders")
        self._books: dict[int, Book] = store.table("books")

    def _sales(self, span: TimeSpan | None) -> Iterator[Order]:
        for order in self._orders.values():
            if order.status in SOLD_STATUSES and (span is None or order.created_at in span):
                yield order

    async def sales_totals(self, spans: Sequence[TimeSpan]) -> Sequence[SalesTotals]:
        """Revenue and distinct orders per span."""
        totals = []
        for span in spans:
            orders = list(self._sales(span))
            revenue = sum(
                (line.line_total for order in orders for line in order.items), Decimal("0.00")
            )
            totals.append(SalesTotals(revenue=revenue, order_count=len(orders)))
        return totals

    async def top_books(
        self, sort_by: TopBooksSort, limit: int, span: TimeSpan | None
    ) -> Sequence[TopBook]:
        """Best sellers, grouped by book (deleted ones by title and author at purchase)."""
        revenue: dict[_GroupKey, Decimal] = {}
        units: dict[_GroupKey, int] = {}
        for order in self._sales(span):
            for line in order.items:
                book = self._books.get(line.book_id) if line.book_id is not None else None
                key = (None, line.title, line.author) if book is None else (book.id, "", "")
                revenue[key] = revenue.get(key, Decimal("0.00")) + line.line_total
                units[key] = units.get(key, 0) + line.quantity
        items = [self._top_book(key, revenue[key], units[key]) for key in revenue]
        metric = (
            (lambda b: b.total_revenue)
            if sort_by is TopBooksSort.REVENUE
            else (lambda b: Decimal(b.units_sold))
        )
        items.sort(key=lambda b: (-metric(b), b.book_id is None, b.book_id or 0, b.title, b.author))
        return items[:limit]

    def _top_book(self, key: _GroupKey, revenue: Decimal, units: int) -> TopBook:
        book_id, title, author = key
        if book_id is not None:  # a live book shows its title and author now
            book = self._books[book_id]
            title, author = book.title, book.author
        return TopBook(
            book_id=book_id, title=title, author=author, total_revenue=revenue, units_sold=units
        )

    async def low_stock(self, threshold: int, limit: int) -> LowStockReport:
        """Books at or below the threshold, stock ascending then id."""
        low = sorted(
            (b for b in self._books.values() if b.stock_quantity <= threshold),
            key=lambda b: (b.stock_quantity, b.id),
        )
        return LowStockReport(
            threshold=threshold,
            total=len(low),
            items=[
                LowStockBook(
                    book_id=b.id, title=b.title, author=b.author, current_stock=b.stock_quantity
                )
                for b in low[:limit]
            ],
        )
