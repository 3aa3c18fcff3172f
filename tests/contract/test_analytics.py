"""The admin reports on every backend: the shared contract in
``bookshop_adapters.testing.contract.analytics`` (periods, deltas, top sellers, low stock, and
the property against a plain-Python computation), and one statement per report on SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bookshop_adapters.testing.builders import ADMIN
from bookshop_adapters.testing.contract.analytics import (
    AnalyticsContract,
    AnalyticsProperties,
    Buyer,
)
from bookshop_adapters.testing.contract.commerce import stocked_book
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.analytics import LowStockQuery, Period, SalesSummaryQuery, TopBooksQuery
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
