"""The analytics context's values: report periods, sales totals, top sellers, low stock.

Money is exact (``Decimal``) everywhere here; a frontend rounds when it renders
(:func:`~bookshop_core.analytics.render_money`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from attrs import field, frozen

__all__ = [
    "LowStockBook",
    "LowStockReport",
    "Period",
    "SalesSummary",
    "SalesTotals",
    "TimeSpan",
    "TopBook",
    "TopBooks",
    "TopBooksSort",
]


class Period(enum.StrEnum):
    """A report period in the shop's time zone: the current day (from midnight), ISO week
    (from Monday 00:00) or calendar month (from the 1st, 00:00)."""

    TODAY = "today"
    WEEK = "week"
    MONTH = "month"


class TopBooksSort(enum.StrEnum):
    """How top sellers are ranked: by ``revenue`` (sum of quantity x unit price) or by
    ``volume`` (copies sold)."""

    REVENUE = "revenue"
    VOLUME = "volume"


@frozen
class TimeSpan:
    """A half-open span of instants ``[start, end)``, both aware UTC datetimes."""

    start: datetime
    end: datetime

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@frozen
class SalesTotals:
    """What sold in one span: orders in a sale status (confirmed, shipped, delivered).

    Attributes:
        revenue: The exact sum of quantity x unit price at purchase.
        order_count: How many distinct orders.
    """

    revenue: Decimal
    order_count: int


@frozen
class SalesSummary:
    """The sales of the current period so far, against the same elapsed span of the previous
    period.

    Attributes:
        period: Which period.
        time_zone: The IANA zone the period's boundaries were computed in.
        current: The span reported: from the period's start to now (inclusive).
        previous: The same wall-clock span of the previous period (clipped to its end).
        revenue: Exact revenue of ``current``.
        order_count: Distinct orders of ``current``.
        previous_revenue: Exact revenue of ``previous``.
        previous_order_count: Distinct orders of ``previous``.
    """

    period: Period
    time_zone: str
    current: TimeSpan
    previous: TimeSpan
    revenue: Decimal
    order_count: int
    previous_revenue: Decimal
    previous_order_count: int

    @property
    def aov(self) -> Decimal:
        """Average order value: revenue / order count, or 0 without orders (exact up to the
        decimal context's 28 significant digits)."""
        if self.order_count == 0:
            return Decimal(0)
        return self.revenue / self.order_count

    @property
    def delta_percentage(self) -> Decimal | None:
        """The revenue change against ``previous`` in percent, or ``None`` when the previous
        span sold nothing (no percentage of zero)."""
        if self.previous_revenue == 0:
            return None
        return (self.revenue - self.previous_revenue) * 100 / self.previous_revenue


def _top_items(items: Iterable[TopBook]) -> tuple[TopBook, ...]:
    return tuple(items)


def _low_items(items: Iterable[LowStockBook]) -> tuple[LowStockBook, ...]:
    return tuple(items)


@frozen
class TopBook:
    """One line of the top sellers.

    Attributes:
        book_id: The book, or ``None`` when it was deleted since (then the line groups its
            sales by the title and author at purchase).
        title: The book's title now; at purchase for a deleted book.
        author: The book's author now; at purchase for a deleted book.
        total_revenue: Exact sum of quantity x unit price.
        units_sold: Copies sold.
    """

    book_id: int | None
    title: str
    author: str
    total_revenue: Decimal
    units_sold: int


@frozen
class TopBooks:
    """The top sellers: best first, ties by book id (deleted books last, by title then
    author)."""

    sort_by: TopBooksSort
    period: Period | None
    items: tuple[TopBook, ...] = field(converter=_top_items)


@frozen
class LowStockBook:
    """A book at or below the low-stock threshold."""

    book_id: int
    title: str
    author: str
    current_stock: int


@frozen
class LowStockReport:
    """Books at or below ``threshold``, stock ascending then id.

    Attributes:
        threshold: The threshold asked for (echoed).
        total: How many books are at or below it (``items`` holds at most the limit asked).
        items: The first of them.
    """

    threshold: int
    total: int
    items: tuple[LowStockBook, ...] = field(converter=_low_items)
