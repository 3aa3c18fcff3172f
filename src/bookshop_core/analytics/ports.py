"""The analytics context's repository port and the unit of work that carries it.

Every report is one aggregate computed by the store (one SQL statement on the SQL backends,
whatever the number of orders); nothing is summed row by row in Python. Every backend passes
the analytics contract (``bookshop_adapters.testing.contract.analytics``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bookshop_core.analytics.entities import (
    LowStockReport,
    SalesTotals,
    TimeSpan,
    TopBook,
    TopBooksSort,
)
from bookshop_core.kernel.uow import UnitOfWork

__all__ = ["AnalyticsUnitOfWork", "ReportRepository"]


class ReportRepository(Protocol):
    """Reads the shop's aggregates. A sale is an order in a sale status
    (:data:`~bookshop_core.commerce.SOLD_STATUSES`: confirmed, shipped, delivered), placed
    (``created_at``) inside the span asked for; its money is quantity x unit price at purchase.
    """

    async def sales_totals(self, spans: Sequence[TimeSpan]) -> Sequence[SalesTotals]:
        """Revenue and distinct order count of the sales placed in each span, in one
        aggregate for all spans.

        Args:
            spans: Half-open ``[start, end)`` UTC spans.

        Returns:
            One :class:`SalesTotals` per span, in the same order (zero revenue and count for
            a span without sales).
        """
        ...

    async def top_books(
        self, sort_by: TopBooksSort, limit: int, span: TimeSpan | None
    ) -> Sequence[TopBook]:
        """The best sellers, in one aggregate.

        Sales lines are grouped by book; lines whose book was deleted since group by their
        title and author at purchase (``book_id`` ``None``). A live book shows its current
        title and author.

        Args:
            sort_by: ``revenue`` or ``volume``, descending.
            limit: At most this many lines.
            span: Only sales placed in this span (``None``: all time).

        Returns:
            Best first; ties by book id ascending, deleted books after live ones (by title
            then author, compared by code point).
        """
        ...

    async def low_stock(self, threshold: int, limit: int) -> LowStockReport:
        """The books with a stock at or below ``threshold`` (stock ascending, then id, at
        most ``limit`` of them) and how many there are in all, in one statement."""
        ...


class AnalyticsUnitOfWork(UnitOfWork, Protocol):
    """What the analytics use cases need: ``reports``."""

    @property
    def reports(self) -> ReportRepository: ...
