"""Contract: the admin reports (sales summary, top sellers, low stock), on every backend.

Orders are placed through the real use cases (cart, checkout, status changes) with the
``clock`` fixture set to the instant each order is placed, so the reports read what checkout
wrote. The property at the end checks every report against a plain-Python computation over
the orders of an in-memory reference shop given the same calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from attrs import frozen
from hypothesis import given, settings
from hypothesis import strategies as st

from bookshop_adapters.bootstrap import Shop, ShopSettings, build_shop
from bookshop_adapters.memory import MemoryBackend
from bookshop_adapters.testing.builders import ADMIN, CUSTOMER
from bookshop_adapters.testing.contract.commerce import (
    add_buyers,
    checkout,
    code_of,
    fill_cart,
    stocked_book,
)
from bookshop_adapters.testing.contract.properties import _dialect_of, property_settings
from bookshop_adapters.testing.pytest_plugin import MakeShop, ShopFactory
from bookshop_adapters.testing.strategies import time_zones
from bookshop_core.analytics import (
    AnalyticsSettings,
    LowStockBook,
    LowStockQuery,
    LowStockReport,
    Period,
    SalesSummary,
    SalesSummaryQuery,
    TimeSpan,
    TopBook,
    TopBooksQuery,
    TopBooksSort,
    period_spans,
)
from bookshop_core.catalog.commands import UpdateBook
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import SetOrderStatus
from bookshop_core.commerce.entities import SOLD_STATUSES, Order, OrderStatus
from bookshop_core.commerce.errors import OrderPaymentFailed
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal

__all__ = ["AnalyticsContract", "AnalyticsProperties", "Buyer"]

_US = timedelta(microseconds=1)
_BERLIN = "Europe/Berlin"


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@frozen
class Buyer:
    """Places orders at chosen instants through the real cart and checkout.

    Attributes:
        shop: The shop.
        clock: The shop's clock; it is set to each order's instant.
        principal: The buyer.
    """

    shop: Shop
    clock: ManualClock
    principal: Principal

    @classmethod
    async def create(cls, shop: Shop, clock: ManualClock) -> Buyer:
        """A new customer of ``shop``."""
        [principal] = await add_buyers(shop, clock, 1)
        return cls(shop, clock, principal)

    async def order(
        self,
        at: datetime,
        *lines: tuple[Book, int],
        status: OrderStatus = OrderStatus.CONFIRMED,
    ) -> Order | None:
        """Buy ``lines`` at ``at`` and move the order to ``status``.

        ``payment_failed`` makes the gateway decline (the attempt is kept, and returns
        ``None``); ``cancelled`` is the buyer's own cancellation; ``shipped`` and
        ``delivered`` are the admin's moves.
        """
        self.clock.set(at)
        await fill_cart(self.shop, self.principal, *lines)
        if status is OrderStatus.PAYMENT_FAILED:
            with pytest.raises(OrderPaymentFailed):
                await self.shop.orders.checkout(self.principal, checkout(fail=True))
            # A declined checkout gives the lines back to the cart: empty it for the next order.
            for line in (await self.shop.cart.view(self.principal)).lines:
                await self.shop.cart.remove(self.principal, line.id)
            return None
        order = await self.shop.orders.checkout(self.principal)
        if status is OrderStatus.CANCELLED:
            return await self.shop.orders.cancel_mine(self.principal, order.id)
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            order = await self._move(order, OrderStatus.SHIPPED)
        if status is OrderStatus.DELIVERED:
            order = await self._move(order, OrderStatus.DELIVERED)
        return order

    async def _move(self, order: Order, status: OrderStatus) -> Order:
        return await self.shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=status))


async def _summary(
    shop: Shop, period: Period = Period.TODAY, tz: str | None = None
) -> SalesSummary:
    return await shop.analytics.sales_summary(ADMIN, SalesSummaryQuery(period=period, tz=tz))


async def _top(
    shop: Shop,
    sort_by: TopBooksSort = TopBooksSort.REVENUE,
    *,
    limit: int = 10,
    period: Period | None = None,
    tz: str | None = None,
) -> list[TopBook]:
    report = await shop.analytics.top_books(
        ADMIN, TopBooksQuery(sort_by=sort_by, limit=limit, period=period, tz=tz)
    )
    return list(report.items)


def _line(book: Book, revenue: str, units: int) -> TopBook:
    return TopBook(
        book_id=book.id,
        title=book.title,
        author=book.author,
        total_revenue=Decimal(revenue),
        units_sold=units,
    )


#: Period boundaries to pin: (zone, period, now, the period's first instant in UTC). The
#: Berlin ones straddle the last Sundays of March (23-hour day) and October (25-hour day);
#: Sydney's summer time ends on the first Sunday of April; in Santiago, September 8th 2024 had
#: no midnight (clocks went from 23:59:59 to 01:00), so that day began at 01:00 local time.
BOUNDARIES = [
    pytest.param("UTC", Period.TODAY, _utc(2024, 5, 15, 10), _utc(2024, 5, 15), id="utc-midnight"),
    pytest.param("UTC", Period.WEEK, _utc(2024, 5, 15, 10), _utc(2024, 5, 13), id="utc-monday"),
    pytest.param("UTC", Period.MONTH, _utc(2024, 5, 15, 10), _utc(2024, 5, 1), id="utc-1st"),
    pytest.param(
        _BERLIN, Period.TODAY, _utc(2024, 3, 31, 20), _utc(2024, 3, 30, 23), id="berlin-spring-day"
    ),
    pytest.param(
        _BERLIN, Period.TODAY, _utc(2024, 10, 27, 22), _utc(2024, 10, 26, 22), id="berlin-fall-day"
    ),
    pytest.param(
        _BERLIN, Period.WEEK, _utc(2024, 3, 31, 20), _utc(2024, 3, 24, 23), id="berlin-spring-week"
    ),
    pytest.param(
        _BERLIN, Period.WEEK, _utc(2024, 10, 30, 9), _utc(2024, 10, 27, 23), id="berlin-fall-week"
    ),
    pytest.param(
        _BERLIN, Period.MONTH, _utc(2024, 4, 2, 9), _utc(2024, 3, 31, 22), id="berlin-april-1st"
    ),
    pytest.param(
        _BERLIN, Period.MONTH, _utc(2024, 11, 1, 9), _utc(2024, 10, 31, 23), id="berlin-nov-1st"
    ),
    pytest.param(
        "Australia/Sydney",
        Period.TODAY,
        _utc(2024, 4, 7, 10),
        _utc(2024, 4, 6, 13),
        id="sydney-fall-back-day",
    ),
    pytest.param(
        "America/Santiago",
        Period.TODAY,
        _utc(2024, 9, 8, 15),
        _utc(2024, 9, 8, 4),
        id="santiago-day-without-midnight",
    ),
]


@pytest.mark.asyncio
class AnalyticsContract:
    """Sales periods in a time zone with their deltas, top sellers, low stock: admin only,
    exact money, cancelled and failed orders never count."""

    # -- sales summary ----------------------------------------------------------------------

    @pytest.mark.parametrize(("zone", "period", "now", "start"), BOUNDARIES)
    async def test_a_period_begins_at_its_local_boundary(
        self,
        shop: Shop,
        clock: ManualClock,
        zone: str,
        period: Period,
        now: datetime,
        start: datetime,
    ) -> None:
        """An order at the period's first instant (local midnight, Monday 00:00 or the 1st,
        DST-correct) counts; one placed a microsecond earlier does not."""
        buyer = await Buyer.create(shop, clock)
        inside = await stocked_book(shop, "Inside", price="7.00")
        before = await stocked_book(shop, "Before", price="100.00")
        await buyer.order(start, (inside, 1))
        await buyer.order(start - _US, (before, 1))
        clock.set(now)
        summary = await _summary(shop, period, zone)
        assert summary.current == TimeSpan(start, now + _US)
        assert (summary.revenue, summary.order_count) == (Decimal("7.00"), 1)

    async def test_an_order_placed_now_counts(self, shop: Shop, clock: ManualClock) -> None:
        """The current span includes the very instant of the report."""
        buyer = await Buyer.create(shop, clock)
        book = await stocked_book(shop, price="3.10")
        await buyer.order(_utc(2024, 5, 15, 10), (book, 2))
        summary = await _summary(shop)
        assert (summary.revenue, summary.order_count) == (Decimal("6.20"), 1)

    async def test_the_shop_time_zone_is_the_default_and_a_query_overrides_it(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A shop configured for Berlin starts today at Berlin's midnight; ``tz`` overrides."""
        berlin = ShopSettings(analytics=AnalyticsSettings(time_zone=_BERLIN))
        async with make_shop(settings=berlin) as shop:
            buyer = await Buyer.create(shop, clock)
            book = await stocked_book(shop, price="5.00")
            await buyer.order(_utc(2024, 5, 14, 22, 30), (book, 1))  # 00:30 in Berlin
            clock.set(_utc(2024, 5, 15, 10))
            in_berlin = await _summary(shop)
            in_utc = await _summary(shop, tz="UTC")
        assert (in_berlin.time_zone, in_berlin.order_count) == (_BERLIN, 1)
        assert (in_utc.time_zone, in_utc.order_count) == ("UTC", 0)

    async def test_the_delta_compares_the_same_elapsed_span_of_the_previous_period(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """At 10:00, today is compared with yesterday 00:00-10:00: yesterday's later sales
        are left out, and the percentage is exact."""
        buyer = await Buyer.create(shop, clock)
        book = await stocked_book(shop, price="10.00", stock=20)
        await buyer.order(_utc(2024, 5, 14, 9, 59), (book, 2))  # counts: 20.00
        await buyer.order(_utc(2024, 5, 14, 10, 0, 0, 1), (book, 5))  # after the span
        await buyer.order(_utc(2024, 5, 15, 8), (book, 3))  # today: 30.00
        clock.set(_utc(2024, 5, 15, 10))
        summary = await _summary(shop)
        assert summary.previous == TimeSpan(_utc(2024, 5, 14), _utc(2024, 5, 14, 10) + _US)
        assert (summary.previous_revenue, summary.previous_order_count) == (Decimal("20.00"), 1)
        assert summary.delta_percentage == Decimal(50)

    async def test_the_delta_is_none_when_the_previous_span_sold_nothing(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """No percentage of zero: today's sales against an empty yesterday give ``None``."""
        buyer = await Buyer.create(shop, clock)
        book = await stocked_book(shop)
        await buyer.order(_utc(2024, 5, 15, 8), (book, 1))
        clock.set(_utc(2024, 5, 15, 10))
        summary = await _summary(shop)
        assert summary.revenue == Decimal("10.00")
        assert summary.delta_percentage is None

    async def test_a_month_compares_with_the_same_days_of_the_previous_month_at_most(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """On March 31st the previous span is all of February, never part of March."""
        buyer = await Buyer.create(shop, clock)
        book = await stocked_book(shop, price="4.00", stock=20)
        await buyer.order(_utc(2024, 2, 29, 23, 59, 59, 999999), (book, 1))
        await buyer.order(_utc(2024, 3, 1), (book, 2))
        clock.set(_utc(2024, 3, 31, 12))
        summary = await _summary(shop, Period.MONTH)
        assert summary.previous == TimeSpan(_utc(2024, 2, 1), _utc(2024, 3, 1))
        assert (summary.previous_revenue, summary.revenue) == (Decimal("4.00"), Decimal("8.00"))
        assert summary.delta_percentage == Decimal(100)

    async def test_revenue_is_exact_and_the_average_order_value_divides_it(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Revenue sums quantity x unit price exactly (no float drift); aov = revenue / orders,
        and 0 when nothing sold."""
        buyer = await Buyer.create(shop, clock)
        cheap = await stocked_book(shop, "Cheap", price="0.10", stock=50)
        odd = await stocked_book(shop, "Odd", price="3.33", stock=50)
        for hour in range(3):
            await buyer.order(_utc(2024, 5, 15, hour), (cheap, 3), (odd, 1))
        summary = await _summary(shop)
        assert (summary.revenue, summary.order_count) == (Decimal("10.89"), 3)
        assert summary.aov == Decimal("3.63")
        clock.set(_utc(2024, 6, 1, 10))
        assert (await _summary(shop)).aov == 0

    async def test_only_confirmed_shipped_and_delivered_orders_count(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Cancelled orders and failed payments never count, in any report."""
        buyer = await Buyer.create(shop, clock)
        book = await stocked_book(shop, price="1.00", stock=50)
        at = _utc(2024, 5, 15, 8)
        for quantity, status in [
            (1, OrderStatus.CONFIRMED),
            (2, OrderStatus.SHIPPED),
            (4, OrderStatus.DELIVERED),
            (8, OrderStatus.CANCELLED),
            (16, OrderStatus.PAYMENT_FAILED),
        ]:
            await buyer.order(at, (book, quantity), status=status)
        clock.set(_utc(2024, 5, 15, 10))
        summary = await _summary(shop)
        assert (summary.revenue, summary.order_count) == (Decimal("7.00"), 3)
        assert await _top(shop) == [_line(book, "7.00", 7)]

    async def test_reports_are_for_admins_only(self, shop: Shop) -> None:
        """A customer gets AUTH_FORBIDDEN from every report."""
        analytics = shop.analytics
        for call in (
            analytics.sales_summary(CUSTOMER),
            analytics.top_books(CUSTOMER),
            analytics.low_stock(CUSTOMER),
        ):
            assert await code_of(call) == "AUTH_FORBIDDEN"

    # -- top sellers ------------------------------------------------------------------------

    async def test_revenue_and_volume_rankings_can_differ(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """One expensive copy out-earns three cheap ones, which outsell it."""
        buyer = await Buyer.create(shop, clock)
        pricey = await stocked_book(shop, "Pricey", price="50.00")
        cheap = await stocked_book(shop, "Cheap", price="10.00")
        await buyer.order(_utc(2024, 5, 15, 8), (pricey, 1), (cheap, 3))
        by_revenue = await _top(shop, TopBooksSort.REVENUE)
        by_volume = await _top(shop, TopBooksSort.VOLUME)
        assert by_revenue == [_line(pricey, "50.00", 1), _line(cheap, "30.00", 3)]
        assert by_volume == [_line(cheap, "30.00", 3), _line(pricey, "50.00", 1)]

    async def test_ties_go_to_the_lower_book_id_and_the_limit_cuts(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Equal revenue: ascending book id; ``limit`` keeps the first lines."""
        buyer = await Buyer.create(shop, clock)
        first = await stocked_book(shop, "Zebra", price="5.00")
        second = await stocked_book(shop, "Aardvark", price="5.00")
        third = await stocked_book(shop, "Middle", price="1.00")
        await buyer.order(_utc(2024, 5, 15, 8), (second, 1), (third, 1), (first, 1))
        assert await _top(shop) == [
            _line(first, "5.00", 1),
            _line(second, "5.00", 1),
            _line(third, "1.00", 1),
        ]
        assert await _top(shop, limit=1) == [_line(first, "5.00", 1)]

    async def test_a_deleted_book_is_listed_under_its_title_at_purchase(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Deleting a book keeps its sales: listed with ``book_id`` None under the title and
        author it was bought under; a live book shows its current title."""
        buyer = await Buyer.create(shop, clock)
        gone = await stocked_book(shop, "Gone", price="8.00")
        kept = await stocked_book(shop, "Old Title", price="2.00")
        await buyer.order(_utc(2024, 5, 15, 8), (gone, 2), (kept, 2))
        await shop.catalog.delete_book(ADMIN, gone.id)
        renamed = await shop.catalog.update_book(ADMIN, kept.id, UpdateBook(title="New Title"))
        deleted_line = TopBook(
            book_id=None,
            title="Gone",
            author=gone.author,
            total_revenue=Decimal("16.00"),
            units_sold=2,
        )
        assert await _top(shop) == [deleted_line, _line(renamed, "4.00", 2)]
        # Two copies each: a tie, where live books come before deleted ones.
        assert await _top(shop, TopBooksSort.VOLUME) == [_line(renamed, "4.00", 2), deleted_line]

    async def test_a_period_limits_top_sellers_to_its_sales(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``period=today`` ranks today's sales only; no period ranks all time."""
        buyer = await Buyer.create(shop, clock)
        old = await stocked_book(shop, "Old", price="9.00")
        new = await stocked_book(shop, "New", price="1.00")
        await buyer.order(_utc(2024, 5, 14, 23, 59, 59, 999999), (old, 1))
        await buyer.order(_utc(2024, 5, 15), (new, 1))
        clock.set(_utc(2024, 5, 15, 10))
        assert await _top(shop, period=Period.TODAY) == [_line(new, "1.00", 1)]
        assert await _top(shop) == [_line(old, "9.00", 1), _line(new, "1.00", 1)]
        # In Berlin, today began at 22:00 UTC yesterday: both orders are today's.
        assert len(await _top(shop, period=Period.TODAY, tz=_BERLIN)) == 2

    # -- low stock --------------------------------------------------------------------------

    async def test_low_stock_lists_books_at_or_below_the_threshold(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """At or below the threshold, stock ascending then id; the total counts them all and
        the limit cuts the list; the threshold is echoed."""
        stocks = {"A": 5, "B": 0, "C": 6, "D": 5, "E": 100}
        books = {
            title: await stocked_book(shop, title, stock=stock) for title, stock in stocks.items()
        }

        def low(*titles: str) -> tuple[LowStockBook, ...]:
            return tuple(
                LowStockBook(
                    book_id=books[t].id,
                    title=t,
                    author=books[t].author,
                    current_stock=stocks[t],
                )
                for t in titles
            )

        report = await shop.analytics.low_stock(ADMIN, LowStockQuery(threshold=5))
        assert report == LowStockReport(threshold=5, total=3, items=low("B", "A", "D"))
        cut = await shop.analytics.low_stock(ADMIN, LowStockQuery(threshold=6, limit=2))
        assert cut == LowStockReport(threshold=6, total=4, items=low("B", "A"))
        out = await shop.analytics.low_stock(ADMIN, LowStockQuery(threshold=0, limit=1))
        assert out == LowStockReport(threshold=0, total=1, items=low("B"))
        assert (await shop.analytics.low_stock(ADMIN)).threshold == 10


# -- the property: every report equals a plain-Python computation --------------------------

#: How many random order histories each backend is checked with.
EXAMPLES = {"memory": 100}
SQL_EXAMPLES = 12

#: Report instants near DST changes and month ends (the random ones cover the rest).
_NOWS = (
    _utc(2024, 3, 31, 20),
    _utc(2024, 4, 1, 0, 30),
    _utc(2024, 10, 27, 12),
    _utc(2024, 11, 4, 3),
    _utc(2024, 3, 10, 15),
)
_STOCKS = (30, 40, 50, 60)
_STATUSES = (*sorted(SOLD_STATUSES), OrderStatus.CANCELLED, OrderStatus.PAYMENT_FAILED)


@frozen
class _Placed:
    """One random order: when (a boundary of the report's periods, nudged, or any instant of
    the last ~9 weeks), its lines by book index, and its fate."""

    at: datetime
    lines: tuple[tuple[int, int], ...]
    status: OrderStatus


@frozen
class _History:
    zone: str
    now: datetime
    orders: tuple[_Placed, ...]
    delete_first_book: bool
    threshold: int
    limit: int


@st.composite
def _histories(draw: Any) -> _History:
    zone = draw(time_zones())
    anywhen = st.datetimes(
        min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    )
    now = draw(st.sampled_from(_NOWS) | anywhen)
    boundaries = sorted(
        {
            edge
            for period in Period
            for span in period_spans(period, now, ZoneInfo(zone))
            for edge in (span.start, span.end)
        }
    )
    nudge = st.sampled_from((-_US, timedelta(0), _US))
    near_edge = st.builds(lambda edge, d: min(edge + d, now), st.sampled_from(boundaries), nudge)
    anytime = st.integers(0, 63 * 24 * 3600 * 10**6).map(
        lambda us: now - timedelta(microseconds=us)
    )
    lines = st.lists(
        st.tuples(st.integers(0, len(_STOCKS) - 1), st.integers(1, 3)),
        min_size=1,
        max_size=3,
        unique_by=lambda line: line[0],
    )
    orders = st.lists(
        st.builds(
            _Placed,
            st.one_of(near_edge, near_edge, anytime),  # two in three on an edge
            lines.map(tuple),
            st.sampled_from(_STATUSES),
        ),
        max_size=8,
    )
    return _History(
        zone=zone,
        now=now,
        orders=tuple(draw(orders)),
        delete_first_book=draw(st.booleans()),
        threshold=draw(st.integers(0, 65)),
        limit=draw(st.integers(1, 5)),
    )


async def _replay(shop: Shop, clock: ManualClock, history: _History) -> list[Book]:
    """Make the history's books and place its orders; returns the books as created."""
    clock.set(history.now - timedelta(days=70))
    books = [
        await stocked_book(shop, f"Book {n}", price=f"{n + 1}.{n * 17 % 100:02}", stock=stock)
        for n, stock in enumerate(_STOCKS)
    ]
    buyer = await Buyer.create(shop, clock)
    for placed in history.orders:
        lines = [(books[index], quantity) for index, quantity in placed.lines]
        await buyer.order(placed.at, *lines, status=placed.status)
    if history.delete_first_book:
        await shop.catalog.delete_book(ADMIN, books[0].id)
    clock.set(history.now)
    return books


@frozen
class _Reports:
    """Every report of one shop, with book ids replaced by the books' creation ranks."""

    summaries: tuple[tuple[Any, ...], ...]
    tops: tuple[tuple[TopBook, ...], ...]
    low: LowStockReport


def _ranked(items: Sequence[TopBook], ranks: dict[int, int]) -> tuple[TopBook, ...]:
    return tuple(
        TopBook(
            book_id=None if t.book_id is None else ranks[t.book_id],
            title=t.title,
            author=t.author,
            total_revenue=t.total_revenue,
            units_sold=t.units_sold,
        )
        for t in items
    )


def _summary_figures(s: SalesSummary) -> tuple[Any, ...]:
    return (
        s.period,
        s.current,
        s.previous,
        s.revenue,
        s.order_count,
        s.previous_revenue,
        s.previous_order_count,
        s.aov,
        s.delta_percentage,
    )


_TOP_QUERIES = [(sort, period) for sort in TopBooksSort for period in (None, *Period)]


async def _reports_of(shop: Shop, books: Sequence[Book], history: _History) -> _Reports:
    ranks = {book.id: rank for rank, book in enumerate(books)}
    summaries = tuple(
        [_summary_figures(await _summary(shop, period, history.zone)) for period in Period]
    )
    tops = tuple(
        [
            _ranked(
                await _top(shop, sort, limit=history.limit, period=period, tz=history.zone),
                ranks,
            )
            for sort, period in _TOP_QUERIES
        ]
    )
    low = await shop.analytics.low_stock(
        ADMIN, LowStockQuery(threshold=history.threshold, limit=history.limit)
    )
    low_ranked = LowStockReport(
        threshold=low.threshold,
        total=low.total,
        items=[
            LowStockBook(
                book_id=ranks[b.book_id],
                title=b.title,
                author=b.author,
                current_stock=b.current_stock,
            )
            for b in low.items
        ],
    )
    return _Reports(summaries, tops, low_ranked)


def _reference_reports(
    orders: Sequence[Order], books: Sequence[Book], history: _History, created: Sequence[Book]
) -> _Reports:
    """Every report computed in plain Python from stored orders and books (the reference).

    Args:
        orders: Every order of the reference shop (core ``Order`` values, as stored).
        books: The books that exist now.
        history: What was asked for.
        created: The books in creation order (their ranks replace ids).
    """
    ranks = {book.id: rank for rank, book in enumerate(created)}
    live = {book.id: book for book in books}
    zone = ZoneInfo(history.zone)
    sales = [order for order in orders if order.status in SOLD_STATUSES]

    def within(span: TimeSpan | None) -> list[Order]:
        return [o for o in sales if span is None or span.start <= o.created_at < span.end]

    def totals(span: TimeSpan) -> tuple[Decimal, int]:
        chosen = within(span)
        revenue = sum(
            (line.quantity * line.unit_price for o in chosen for line in o.items), Decimal(0)
        )
        return revenue, len(chosen)

    summaries = []
    for period in Period:
        current, previous = period_spans(period, history.now, zone)
        (revenue, count), (before, before_count) = totals(current), totals(previous)
        summaries.append(
            (
                period,
                current,
                previous,
                revenue,
                count,
                before,
                before_count,
                revenue / count if count else Decimal(0),
                None if before == 0 else (revenue - before) * 100 / before,
            )
        )

    tops = []
    for sort, period in _TOP_QUERIES:
        span = None if period is None else period_spans(period, history.now, zone)[0]
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for order in within(span):
            for line in order.items:
                book = live.get(line.book_id) if line.book_id is not None else None
                key = ("live", book.id) if book else ("gone", line.title, line.author)
                name = (book.title, book.author) if book else (line.title, line.author)
                entry = groups.setdefault(key, [book.id if book else None, *name, Decimal(0), 0])
                entry[3] += line.quantity * line.unit_price
                entry[4] += line.quantity
        index = 3 if sort is TopBooksSort.REVENUE else 4
        ordered = sorted(
            groups.values(),
            key=lambda e: (-e[index], e[0] is None, e[0] or 0, e[1], e[2]),
        )
        tops.append(
            tuple(
                TopBook(
                    book_id=None if e[0] is None else ranks[e[0]],
                    title=e[1],
                    author=e[2],
                    total_revenue=e[3],
                    units_sold=e[4],
                )
                for e in ordered[: history.limit]
            )
        )

    low = sorted(
        (b for b in books if b.stock_quantity <= history.threshold),
        key=lambda b: (b.stock_quantity, b.id),
    )
    return _Reports(
        tuple(summaries),
        tuple(tops),
        LowStockReport(
            threshold=history.threshold,
            total=len(low),
            items=[
                LowStockBook(
                    book_id=ranks[b.id],
                    title=b.title,
                    author=b.author,
                    current_stock=b.stock_quantity,
                )
                for b in low[: history.limit]
            ],
        ),
    )


def _settings(backend: str) -> settings:
    # On SQL a failure is reported as generated (at most eight orders), not shrunk.
    return property_settings(backend, EXAMPLES, SQL_EXAMPLES)


class AnalyticsProperties:
    """Random order histories: every report agrees with a plain-Python computation."""

    def test_every_report_equals_the_plain_python_computation(
        self, shop_factory: ShopFactory
    ) -> None:
        """Random orders (any status, at random instants and at period boundaries give or take
        a microsecond, a book deleted or not) give, on this backend, exactly the reports a
        plain-Python computation gives over the orders of an in-memory reference shop that
        received the same calls."""
        dialect = _dialect_of(shop_factory)

        async def check(history: _History) -> None:
            clock, reference_clock = ManualClock(), ManualClock()
            reference_backend = MemoryBackend()
            async with (
                shop_factory.open(clock=clock) as shop,
                build_shop(backend=reference_backend, clock=reference_clock) as reference,
            ):
                books = await _replay(shop, clock, history)
                reference_books = await _replay(reference, reference_clock, history)
                tables = reference_backend.store.tables
                expected = _reference_reports(
                    list(tables.get("orders", {}).values()),
                    list(tables.get("books", {}).values()),
                    history,
                    reference_books,
                )
                assert await _reports_of(shop, books, history) == expected

        @_settings(dialect)
        @given(history=_histories())
        def property_holds(history: _History) -> None:
            asyncio.run(check(history))

        property_holds()
