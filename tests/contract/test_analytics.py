"""The admin reports on every backend: the shared contract in
``bookshop_adapters.testing.contract.analytics`` (periods, deltas, top sellers, low stock, and
the property against a plain-Python computation), and one statement per report on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bookshop_adapters import Repositories
from bookshop_adapters.testing.builders import ADMIN
from bookshop_adapters.testing.contract.analytics import (
    AnalyticsContract,
    AnalyticsProperties,
    Buyer,
)
from bookshop_adapters.testing.contract.commerce import stocked_book
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.analytics import (
    LowStockQuery,
    LowStockReport,
    Period,
    ReportRepository,
    SalesSummaryQuery,
    SalesTotals,
    TimeSpan,
    TopBook,
    TopBooksQuery,
    TopBooksSort,
)
from bookshop_core.kernel.clock import ManualClock


class TestAnalytics(AnalyticsContract):
    """Sales periods and deltas, top sellers, low stock, admin only."""


class TestAnalyticsProperties(AnalyticsProperties):
    """Every report equals the plain-Python computation over random order histories."""


@pytest.mark.bookshop_backends("sqlite", "postgres")
async def test_each_report_is_one_statement_whatever_the_number_of_orders(
    make_shop: MakeShop, clock: ManualClock
) -> None:
    """The summary (both spans), the top sellers and low stock cost one statement each, with
    one order or thirty."""
    from bookshop_adapters.sqlalchemy import count_statements

    async with make_shop() as shop:
        buyer = await Buyer.create(shop, clock)
        books = [await stocked_book(shop, f"Book {n}", stock=100) for n in range(3)]
        counts = []
        for orders in (1, 29):
            for n in range(orders):
                await buyer.order(datetime(2024, 5, 15, 8, n, tzinfo=UTC), (books[n % 3], 1))
            clock.set(datetime(2024, 5, 15, 10, tzinfo=UTC))
            with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
                await shop.analytics.sales_summary(ADMIN, SalesSummaryQuery(period=Period.WEEK))
                await shop.analytics.top_books(ADMIN, TopBooksQuery(period=Period.MONTH))
                await shop.analytics.low_stock(ADMIN, LowStockQuery(threshold=1000))
            counts.append(counted.count)
    assert counts == [3, 3], counts


class CountingReports:
    """A report repository of ours wrapping the backend's, noting what it is asked."""

    def __init__(self, inner: ReportRepository, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    async def sales_totals(self, spans: Sequence[TimeSpan]) -> Sequence[SalesTotals]:
        self._calls.append(f"sales_totals x{len(spans)}")
        return await self._inner.sales_totals(spans)

    async def top_books(
        self, sort_by: TopBooksSort, limit: int, span: TimeSpan | None
    ) -> Sequence[TopBook]:
        self._calls.append(f"top_books {sort_by.value} {limit}")
        return await self._inner.top_books(sort_by, limit, span)

    async def low_stock(self, threshold: int, limit: int) -> LowStockReport:
        self._calls.append(f"low_stock {threshold}")
        return await self._inner.low_stock(threshold, limit)


async def test_a_report_repository_of_yours_serves_the_reports(make_shop: MakeShop) -> None:
    """Repositories(reports=...) puts your repository in the backend's transactions: both
    spans of a summary in one call, then the top sellers and low stock."""
    calls: list[str] = []
    overrides = Repositories(reports=lambda uow: CountingReports(uow.reports, calls))
    async with make_shop(repositories=overrides) as shop:
        await shop.analytics.sales_summary(ADMIN)
        await shop.analytics.top_books(ADMIN, TopBooksQuery(limit=3))
        assert (await shop.analytics.low_stock(ADMIN)).total == 0
    assert calls == ["sales_totals x2", "top_books revenue 3", "low_stock 10"]
