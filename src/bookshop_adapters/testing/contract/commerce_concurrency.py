"""Contract: checkout and order changes under real concurrency, on every backend.

Many callers at once against one store (SQL backends through their connection pool, so each
caller really holds its own connection and transaction):

- 64 buyers of one copy each against a stock of 10: exactly 10 orders, 54
  ``ORDER_INSUFFICIENT_STOCK``, the stock ends at 0 and is never seen below it;
- one cart checked out from two tabs at once buys once;
- carts holding the same books, added in opposite orders, checked out at once: no deadlock or
  store error reaches a buyer, and the stock stays consistent (initial = current + sold);
- 20 checkouts at once with one idempotency key make one order (or record one declined
  attempt), and every caller gets that order;
- a book added to the cart during checkout is bought or kept, never lost; a quantity changed
  during checkout is bought or refused, never kept on a held line; a book deleted
  during checkouts fails no one with a store error;
- checkouts that crashed mid-payment, recovered by several recoveries at once, are each
  settled once;
- concurrent cancels (by the buyer and by admins) of one order return its stock once; a
  cancel racing a ship moves the order once.

The shop's payment gateway here answers after a short pause (:class:`PausingGateway`), so that
checkouts overlap while one is paying, the window in which a second tab or a retried key
arrives.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.payments import DemoPaymentGateway
from bookshop_adapters.testing.builders import ADMIN, add_book
from bookshop_adapters.testing.contract.commerce import add_buyers
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import (
    AddToCart,
    Checkout,
    ListOrders,
    SetOrderStatus,
    SetQuantity,
)
from bookshop_core.commerce.entities import CartLine, Order, OrderStatus
from bookshop_core.commerce.ports import PaymentRequest, PaymentResult
from bookshop_core.commerce.use_cases import CommerceSettings, RecoveryReport
from bookshop_core.errors import DomainError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE, PageRequest
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import MessageKind

__all__ = ["CommerceConcurrencyContract", "PausingGateway"]

T = TypeVar("T")

#: How long the gateway of these tests takes to answer: long enough for other checkouts to
#: reach the store meanwhile. Only a pause, never a limit anything is measured against.
PAYMENT_PAUSE = 0.02
_INSUFFICIENT = "ORDER_INSUFFICIENT_STOCK"
_INVALID_TRANSITION = "ORDER_INVALID_TRANSITION"


class PausingGateway:
    """The demo gateway (approves; declines when asked), answering after ``pause`` seconds."""

    def __init__(self, pause: float = PAYMENT_PAUSE) -> None:
        self._inner = DemoPaymentGateway()
        self._pause = pause

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        await asyncio.sleep(self._pause)
        return await self._inner.charge(request)

    async def find(self, order_id: int) -> PaymentResult | None:
        return await self._inner.find(order_id)


class _CrashingMidPayment:
    """Plays the process dying during every payment call (``charge`` raises
    :class:`asyncio.CancelledError`), after the provider charged the order for buyers with
    an even user id and before it for the others; ``find`` answers what the provider knows."""

    def __init__(self) -> None:
        self._charged: dict[int, PaymentResult] = {}

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        if request.user_id % 2 == 0:
            self._charged[request.order_id] = PaymentResult.approve(f"crash_{request.order_id}")
        raise asyncio.CancelledError

    async def find(self, order_id: int) -> PaymentResult | None:
        return self._charged.get(order_id)


async def _all_at_once(calls: Iterable[Awaitable[T]]) -> list[T | DomainError]:
    """Run the calls concurrently; each one's result or domain error. Anything else (a
    driver's deadlock exception, an assertion) fails the test with that exception."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, DomainError):
            raise outcome
    return list(outcomes)  # type: ignore[arg-type]  # only results and domain errors are left


def _codes(outcomes: Sequence[object]) -> Counter[str]:
    return Counter(o.code for o in outcomes if isinstance(o, DomainError))


def _orders(outcomes: Sequence[object]) -> list[Order]:
    return [o for o in outcomes if isinstance(o, Order)]


async def _all_orders(shop: Shop, status: OrderStatus | None = None) -> list[Order]:
    """Every order the admin list shows (pending ones never appear there)."""
    page = await shop.orders.list_all(ADMIN, ListOrders(size=MAX_PAGE_SIZE, status=status))
    assert page.total <= MAX_PAGE_SIZE, "these tests make at most one page of orders"
    return list(page.items)


async def _left_pending(shop: Shop) -> Sequence[int]:
    """Orders still pending (every checkout has finished, so none may be)."""
    async with shop.unit_of_work(read_only=True) as uow:
        return await uow.orders.pending_before(shop.clock.now().replace(year=9999), 1000)


def _sold(orders: Iterable[Order]) -> Counter[int]:
    """Copies sold per book by the orders that count as sales."""
    sold: Counter[int] = Counter()
    for order in orders:
        if order.status.counts_as_sale:
            for line in order.items:
                assert line.book_id is not None
                sold[line.book_id] += line.quantity
    return sold


async def _stock(shop: Shop, book: Book) -> int:
    return (await shop.catalog.get_book(book.id)).stock_quantity


class _StockWatch:
    """Reads a book's stock over and over while concurrent calls run."""

    def __init__(self, shop: Shop, book: Book) -> None:
        self._shop = shop
        self._book = book
        self.seen: list[int] = []
        self._done = asyncio.Event()

    async def _watch(self) -> None:
        while not self._done.is_set():
            self.seen.append(await _stock(self._shop, self._book))
            await asyncio.sleep(0)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[_StockWatch]:
        task = asyncio.ensure_future(self._watch())
        try:
            yield self
        finally:
            self._done.set()
            await task


class CommerceConcurrencyContract:
    """Checkout, idempotency and cancels under many concurrent callers."""

    @pytest.fixture
    def gateway(self) -> PausingGateway:
        """The payment gateway of :meth:`paying_shop`: the demo gateway, pausing."""
        return PausingGateway()

    @pytest.fixture
    def paying_shop(self, make_shop: MakeShop, gateway: PausingGateway) -> MakeShop:
        """``async with paying_shop() as shop``: a shop on this test's store whose payments
        take a moment."""

        def make(**overrides: Any) -> AbstractAsyncContextManager[Shop]:
            return make_shop(payment_gateway=gateway, **overrides)

        return make

    # -- never oversell -----------------------------------------------------------------------

    async def test_64_checkouts_of_one_copy_against_a_stock_of_10_sell_exactly_10(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """64 buyers, one copy each, stock 10, all at once: 10 confirmed orders, 54
        ORDER_INSUFFICIENT_STOCK, the stock ends at 0, is never seen below 0 nor going back
        up, and the refused buyers keep their cart line."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=10)
            buyers = await add_buyers(shop, clock, 64)
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=book.id))
            async with _StockWatch(shop, book).running() as watch:
                outcomes = await _all_at_once(shop.orders.checkout(b) for b in buyers)
            orders = _orders(outcomes)
            assert (len(orders), _codes(outcomes)) == (10, {_INSUFFICIENT: 54}), _codes(outcomes)
            assert {o.status for o in orders} == {OrderStatus.CONFIRMED}
            assert await _stock(shop, book) == 0
            assert watch.seen, "the stock was read while the checkouts ran"
            assert all(0 <= seen <= 10 for seen in watch.seen), watch.seen
            assert watch.seen == sorted(watch.seen, reverse=True), "the stock went back up"
            assert sorted(o.id for o in await _all_orders(shop)) == sorted(o.id for o in orders)
            assert await _left_pending(shop) == []
            winners = {o.user_id for o in orders}
            for buyer in buyers:
                lines = (await shop.cart.view(buyer)).lines
                expected = [] if buyer.user_id in winners else [(book.id, 1, None)]
                assert [(line.book_id, line.quantity, line.held_by) for line in lines] == expected

    async def test_checkouts_with_declines_among_them_conserve_the_stock(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """32 buyers at once against a stock of 10, every other one's payment declined: each
        declined attempt is recorded and gives its copy back, each sale took one, and
        initial stock = current stock + sold."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=10)
            buyers = await add_buyers(shop, clock, 32)
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=book.id))
            outcomes = await _all_at_once(
                shop.orders.checkout(b, Checkout(force_payment_failure=n % 2 == 1))
                for n, b in enumerate(buyers)
            )
            codes = _codes(outcomes)
            assert set(codes) <= {_INSUFFICIENT, "ORDER_PAYMENT_FAILED"}, codes
            sold = await _all_orders(shop, OrderStatus.CONFIRMED)
            failed = await _all_orders(shop, OrderStatus.PAYMENT_FAILED)
            assert sorted(o.id for o in sold) == sorted(o.id for o in _orders(outcomes))
            assert len(failed) == codes["ORDER_PAYMENT_FAILED"]
            assert len(sold) <= 10
            assert await _stock(shop, book) + len(sold) == 10
            assert await _left_pending(shop) == []

    # -- one cart, two tabs ------------------------------------------------------------------

    async def test_one_cart_checked_out_from_two_tabs_at_once_buys_once(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Eight buyers, each checking out one cart (2 + 1 copies) from two tabs at once: one
        order per buyer; the other tab is ORDER_CHECKOUT_IN_PROGRESS (still paying) or
        ORDER_CART_EMPTY (paid); the stock went down once per buyer."""
        async with paying_shop() as shop:
            first = await add_book(shop, "First", stock=50)
            second = await add_book(shop, "Second", stock=50)
            buyers = await add_buyers(shop, clock, 8)
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=first.id, quantity=2))
                await shop.cart.add(buyer, AddToCart(book_id=second.id))
            outcomes = await _all_at_once(
                shop.orders.checkout(buyer) for buyer in buyers for _tab in range(2)
            )
            tabs_of = zip(outcomes[::2], outcomes[1::2], strict=True)
            for buyer, tabs in zip(buyers, tabs_of, strict=True):
                made = _orders(tabs)
                assert len(made) == 1, tabs
                assert made[0].user_id == buyer.user_id
                assert set(_codes(tabs)) <= {"ORDER_CHECKOUT_IN_PROGRESS", "ORDER_CART_EMPTY"}
                assert (await shop.cart.view(buyer)).lines == ()
            assert len(await _all_orders(shop)) == 8
            assert (await _stock(shop, first), await _stock(shop, second)) == (50 - 16, 50 - 8)
            assert await _left_pending(shop) == []

    # -- no deadlock -------------------------------------------------------------------------

    async def test_carts_with_the_same_books_in_opposite_orders_never_deadlock(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """16 pairs of buyers, one adding three books first to last, the other last to first,
        all checking out at once: every outcome is an order or ORDER_INSUFFICIENT_STOCK (no
        deadlock or store error reaches a buyer), exactly 12 orders (the stock of each book),
        and for each book initial stock = current stock + sold."""
        async with paying_shop() as shop:
            books = [await add_book(shop, f"Book {n}", stock=12) for n in range(3)]
            buyers = await add_buyers(shop, clock, 32)
            for n, buyer in enumerate(buyers):
                for book in books if n % 2 == 0 else reversed(books):
                    await shop.cart.add(buyer, AddToCart(book_id=book.id))
            outcomes = await _all_at_once(shop.orders.checkout(b) for b in buyers)
            assert (len(_orders(outcomes)), _codes(outcomes)) == (12, {_INSUFFICIENT: 20})
            sold = _sold(await _all_orders(shop))
            for book in books:
                assert await _stock(shop, book) + sold[book.id] == 12, book.title
            assert await _left_pending(shop) == []

    async def test_mixed_carts_over_shared_books_keep_the_stock_consistent(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """24 buyers whose carts hold different subsets and quantities of four books, added in
        different orders, checking out at once: only orders and ORDER_INSUFFICIENT_STOCK come
        back, no stock is negative, and initial stock = current stock + sold per book."""
        async with paying_shop() as shop:
            books = [await add_book(shop, f"Book {n}", stock=9) for n in range(4)]
            buyers = await add_buyers(shop, clock, 24)
            for n, buyer in enumerate(buyers):
                chosen = [books[(n + k) % 4] for k in range(1 + n % 3)]
                for k, book in enumerate(chosen if n % 2 else reversed(chosen)):
                    await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=1 + k % 2))
            outcomes = await _all_at_once(shop.orders.checkout(b) for b in buyers)
            assert set(_codes(outcomes)) <= {_INSUFFICIENT}, _codes(outcomes)
            assert _orders(outcomes), "some carts were bought"
            sold = _sold(await _all_orders(shop))
            for book in books:
                stock = await _stock(shop, book)
                assert stock >= 0
                assert stock + sold[book.id] == 9, book.title
            assert await _left_pending(shop) == []

    # -- other writers meanwhile -------------------------------------------------------------

    async def test_a_book_added_to_the_cart_during_checkout_is_bought_or_kept(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """16 buyers each check out one book while adding a second one: the second book ends
        in the order or stays in the cart, never lost with neither."""
        async with paying_shop() as shop:
            first = await add_book(shop, "First", stock=50)
            second = await add_book(shop, "Second", stock=50)
            buyers = await add_buyers(shop, clock, 16)
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=first.id))
            outcomes = await _all_at_once(
                call
                for buyer in buyers
                for call in (
                    shop.orders.checkout(buyer),
                    shop.cart.add(buyer, AddToCart(book_id=second.id)),
                )
            )
            assert _codes(outcomes) == {}, _codes(outcomes)
            for buyer, order in zip(buyers, _orders(outcomes), strict=True):
                bought = {line.book_id for line in order.items}
                kept = {line.book_id for line in (await shop.cart.view(buyer)).lines}
                assert first.id in bought
                assert (second.id in bought) != (second.id in kept), (bought, kept)
            sold = _sold(await _all_orders(shop))
            assert await _stock(shop, second) + sold[second.id] == 50

    async def test_a_quantity_changed_during_checkout_is_bought_or_refused(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """16 buyers each check out one copy while raising the line to 2: a change that
        succeeded is in the order; one that came too late is refused, never kept on a line
        the order bought at the old quantity."""
        async with paying_shop() as shop:
            book = await add_book(shop, "Book", stock=50)
            buyers = await add_buyers(shop, clock, 16)
            items = [
                (await shop.cart.add(buyer, AddToCart(book_id=book.id))).id for buyer in buyers
            ]
            outcomes = await _all_at_once(
                call
                for buyer, item_id in zip(buyers, items, strict=True)
                for call in (
                    shop.orders.checkout(buyer),
                    shop.cart.set_quantity(buyer, item_id, SetQuantity(quantity=2)),
                )
            )
            assert set(_codes(outcomes)) <= {"ORDER_CHECKOUT_IN_PROGRESS", "CART_ITEM_NOT_FOUND"}
            for order, changed in zip(outcomes[::2], outcomes[1::2], strict=True):
                assert isinstance(order, Order), order
                bought = order.items[0].quantity
                assert bought == (2 if isinstance(changed, CartLine) else 1), (bought, changed)
            sold = _sold(await _all_orders(shop))
            assert await _stock(shop, book) + sold[book.id] == 50

    async def test_a_book_deleted_during_checkouts_fails_no_one_with_a_store_error(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """An admin deletes a book while 16 carts holding it (and another book) are checked
        out, four times over: the delete succeeds and every checkout makes an order (the
        deleted book bought before, or gone from the cart); no store error reaches anyone
        and no cart line is left."""
        async with paying_shop() as shop:
            everyone = await add_buyers(shop, clock, 4 * 16)
            for round_ in range(4):
                kept = await add_book(shop, "Kept", stock=50)
                doomed = await add_book(shop, "Doomed", stock=50)
                buyers = everyone[round_ * 16 : (round_ + 1) * 16]
                for buyer in buyers:
                    await shop.cart.add(buyer, AddToCart(book_id=doomed.id))
                    await shop.cart.add(buyer, AddToCart(book_id=kept.id))
                calls: list[Awaitable[object]] = [shop.orders.checkout(b) for b in buyers]
                calls.insert(len(buyers) // 2, shop.catalog.delete_book(ADMIN, doomed.id))
                outcomes = await _all_at_once(calls)
                assert _codes(outcomes) == {}, _codes(outcomes)
                assert len(_orders(outcomes)) == 16
                for buyer in buyers:
                    assert (await shop.cart.view(buyer)).lines == ()
                assert await _stock(shop, kept) == 50 - 16
                clock.advance(seconds=1)

    # -- idempotency -------------------------------------------------------------------------

    async def test_20_concurrent_checkouts_with_one_key_make_one_order(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """One cart, 20 checkouts at once with the same idempotency key: one order; every
        call returns it; the stock went down once."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=10)
            [buyer] = await add_buyers(shop, clock, 1)
            await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=3))
            command = Checkout(idempotency_key="order-7f3a")
            outcomes = await _all_at_once(shop.orders.checkout(buyer, command) for _ in range(20))
            assert _codes(outcomes) == {}, _codes(outcomes)
            assert {o.id for o in _orders(outcomes)} == {o.id for o in await _all_orders(shop)}
            assert len({o.id for o in _orders(outcomes)}) == 1
            assert await _stock(shop, book) == 7
            assert (await shop.cart.view(buyer)).lines == ()
            assert await _left_pending(shop) == []

    async def test_20_concurrent_declined_checkouts_with_one_key_record_one_attempt(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """One cart, 20 checkouts at once with one key, the payment declined: one
        payment_failed record, every call is ORDER_PAYMENT_FAILED naming it, and stock and
        cart are as they were."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=10)
            [buyer] = await add_buyers(shop, clock, 1)
            await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=3))
            before = await shop.cart.view(buyer)
            command = Checkout(idempotency_key="order-9c1d", force_payment_failure=True)
            outcomes = await _all_at_once(shop.orders.checkout(buyer, command) for _ in range(20))
            [attempt] = await _all_orders(shop)
            assert attempt.status is OrderStatus.PAYMENT_FAILED
            assert _codes(outcomes) == {"ORDER_PAYMENT_FAILED": 20}
            assert {o.details["order_id"] for o in outcomes if isinstance(o, DomainError)} == {
                attempt.id
            }
            assert await _stock(shop, book) == 10
            assert await shop.cart.view(buyer) == before
            assert await _left_pending(shop) == []

    # -- recovery ----------------------------------------------------------------------------

    async def test_concurrent_recoveries_settle_each_crashed_checkout_once(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """12 checkouts crash mid-payment (half of them charged); four recoveries run at
        once: each order is settled by exactly one of them (confirmed when charged, failed
        otherwise), its stock taken or given back once, one confirmation per confirmed
        order, none left pending."""
        async with make_shop(payment_gateway=_CrashingMidPayment()) as shop:
            book = await add_book(shop, stock=30)
            buyers = await add_buyers(shop, clock, 12)
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=2))
                with pytest.raises(asyncio.CancelledError):
                    await shop.orders.checkout(buyer)
            assert await _stock(shop, book) == 30 - 24
            clock.advance(CommerceSettings().pending_timeout + timedelta(seconds=1))
            reports = await _all_at_once(
                shop.orders.recover_pending(Principal.system()) for _ in range(4)
            )
            confirmed = [i for r in reports if isinstance(r, RecoveryReport) for i in r.confirmed]
            failed = [i for r in reports if isinstance(r, RecoveryReport) for i in r.failed]
            assert _codes(reports) == {}, _codes(reports)
            assert len(confirmed) == len(set(confirmed)) == 6, reports
            assert len(failed) == len(set(failed)) == 6, reports
            orders = {o.id: o for o in await _all_orders(shop)}
            assert sorted(orders) == sorted([*confirmed, *failed])
            for order_id in confirmed:
                assert orders[order_id].status is OrderStatus.CONFIRMED
                assert orders[order_id].user_id % 2 == 0
            assert {orders[i].status for i in failed} == {OrderStatus.PAYMENT_FAILED}
            assert await _stock(shop, book) == 30 - 2 * 6
            assert await _left_pending(shop) == []
            async with shop.unit_of_work(read_only=True) as uow:
                messages = await uow.outbox.list(None, PageRequest(1, MAX_PAGE_SIZE))
            kinds = Counter(m.kind for m in messages.items)
            assert kinds == {MessageKind.ORDER_CONFIRMATION: 6}, kinds
            for buyer in buyers:
                lines = (await shop.cart.view(buyer)).lines
                assert len(lines) == (0 if buyer.user_id % 2 == 0 else 1)

    # -- cancels -----------------------------------------------------------------------------

    async def test_concurrent_cancels_of_an_order_return_its_stock_once(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Five orders, each cancelled at once by its buyer three times and by an admin three
        times: one cancel per order succeeds, the rest are ORDER_INVALID_TRANSITION, and the
        stock is back where it started (returned once per order)."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=20)
            buyers = await add_buyers(shop, clock, 5)
            orders = []
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=2))
                orders.append(await shop.orders.checkout(buyer))
            assert await _stock(shop, book) == 10
            cancel = SetOrderStatus(status=OrderStatus.CANCELLED)
            calls: list[Awaitable[Order]] = []
            for buyer, order in zip(buyers, orders, strict=True):
                for _ in range(3):
                    calls.append(shop.orders.cancel_mine(buyer, order.id))
                    calls.append(shop.orders.set_status(ADMIN, order.id, cancel))
            outcomes = await _all_at_once(calls)
            assert len(_orders(outcomes)) == 5
            assert _codes(outcomes) == {_INVALID_TRANSITION: 25}
            assert await _stock(shop, book) == 20
            assert {o.status for o in await _all_orders(shop)} == {OrderStatus.CANCELLED}

    async def test_a_cancel_racing_a_ship_moves_the_order_once(
        self, paying_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Ten orders, each cancelled by its buyer while an admin ships it: exactly one of
        the two wins per order; the stock came back for the cancelled ones only."""
        async with paying_shop() as shop:
            book = await add_book(shop, stock=10)
            buyers = await add_buyers(shop, clock, 10)
            orders = []
            for buyer in buyers:
                await shop.cart.add(buyer, AddToCart(book_id=book.id))
                orders.append(await shop.orders.checkout(buyer))
            ship = SetOrderStatus(status=OrderStatus.SHIPPED)
            outcomes = await _all_at_once(
                call
                for buyer, order in zip(buyers, orders, strict=True)
                for call in (
                    shop.orders.cancel_mine(buyer, order.id),
                    shop.orders.set_status(ADMIN, order.id, ship),
                )
            )
            for pair in zip(outcomes[::2], outcomes[1::2], strict=True):
                assert len(_orders(pair)) == 1, pair
                assert _codes(pair) == {_INVALID_TRANSITION: 1}, pair
            statuses = Counter(o.status for o in await _all_orders(shop))
            assert set(statuses) <= {OrderStatus.CANCELLED, OrderStatus.SHIPPED}
            assert await _stock(shop, book) == statuses[OrderStatus.CANCELLED]
