"""Analytics use cases (admins only): the sales of today, this ISO week or this month in the
shop's time zone against the same span of the previous period, the best sellers, and the books
running out of stock.

Each report is one read-only unit of work and one aggregate of the store; the clock is the
shop's, so tests travel in time with a :class:`~bookshop_core.ManualClock`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from attrs import field, frozen

from bookshop_core.analytics.commands import (
    LowStockQuery,
    SalesSummaryQuery,
    TopBooksQuery,
    time_zone,
)
from bookshop_core.analytics.entities import LowStockReport, SalesSummary, TopBooks
from bookshop_core.analytics.periods import period_spans
from bookshop_core.analytics.ports import AnalyticsUnitOfWork
from bookshop_core.errors import ValidationError
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transactions

__all__ = ["Analytics", "AnalyticsSettings"]


def _check_zone_setting(instance: object, attribute: object, value: str) -> None:
    try:
        time_zone(value, "time_zone")
    except ValidationError as exc:
        raise ValueError(f"AnalyticsSettings.time_zone: {exc.message}") from None


@frozen
class AnalyticsSettings:
    """How reports are computed.

    Args:
        time_zone: The IANA time zone whose midnight, Monday and 1st begin the report periods
            (default ``"UTC"``); a report may ask for another.

    Raises:
        ValueError: an unknown time zone.
    """

    time_zone: str = field(default="UTC", validator=_check_zone_setting)


class Analytics:
    """The analytics context's use cases; every one is for admins only.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
        settings: The shop's default time zone.
    """

    def __init__(
        self,
        transactions: Transactions[AnalyticsUnitOfWork],
        clock: Clock,
        settings: AnalyticsSettings | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)
        self.settings = settings or AnalyticsSettings()

    def _zone(self, name: str | None) -> ZoneInfo:
        return time_zone(name if name is not None else self.settings.time_zone)

    async def sales_summary(
        self, principal: Principal, query: SalesSummaryQuery | None = None
    ) -> SalesSummary:
        """Revenue, distinct orders and average order value of the current period so far, and
        the change against the same elapsed span of the previous period.

        Args:
            principal: The caller (an admin).
            query: The period and time zone (default: today, in the shop's zone).

        Returns:
            The summary, exact; round only when showing it
            (:mod:`bookshop_core.analytics.rendering`).

        Raises:
            Forbidden: the caller is not an admin.
        """
        require_admin(principal)
        query = query or SalesSummaryQuery()
        zone = self._zone(query.tz)
        current, previous = period_spans(query.period, self._clock.now(), zone)
        async with self._tx.read() as uow:
            now_totals, before = await uow.reports.sales_totals([current, previous])
        return SalesSummary(
            period=query.period,
            time_zone=zone.key,
            current=current,
            previous=previous,
            revenue=now_totals.revenue,
            order_count=now_totals.order_count,
            previous_revenue=before.revenue,
            previous_order_count=before.order_count,
        )

    async def top_books(self, principal: Principal, query: TopBooksQuery | None = None) -> TopBooks:
        """The best-selling books by revenue or by copies sold.

        Args:
            principal: The caller (an admin).
            query: Ranking, limit, and optionally the current period only.

        Returns:
            Best first, ties by book id; books deleted since are listed under their title at
            purchase (``book_id`` ``None``).

        Raises:
            Forbidden: the caller is not an admin.
        """
        require_admin(principal)
        query = query or TopBooksQuery()
        span = None
        if query.period is not None:
            span, _ = period_spans(query.period, self._clock.now(), self._zone(query.tz))
        async with self._tx.read() as uow:
            items = await uow.reports.top_books(query.sort_by, query.limit, span)
        return TopBooks(sort_by=query.sort_by, period=query.period, items=items)

    async def low_stock(
        self, principal: Principal, query: LowStockQuery | None = None
    ) -> LowStockReport:
        """The books with a stock at or below the threshold, stock ascending then id.

        Args:
            principal: The caller (an admin).
            query: The threshold (default 10) and how many books to list (default 100).

        Returns:
            The report: the threshold echoed, how many books are low, the first of them.

        Raises:
            Forbidden: the caller is not an admin.
        """
        require_admin(principal)
        query = query or LowStockQuery()
        async with self._tx.read() as uow:
            return await uow.reports.low_stock(query.threshold, query.limit)
