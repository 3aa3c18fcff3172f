"""Contract: checkout, on every backend.

Checkout buys every line of the cart or nothing. It reserves the stock and writes a pending
order in one transaction, calls the payment gateway with no transaction open, then confirms
the order (cart emptied, confirmation queued) or records the failed attempt (stock and cart
given back). A crash between the two transactions is settled by ``recover_pending``. An
idempotency key makes a retry return the same order.

The gateways are the test doubles of :mod:`bookshop_adapters.testing.contract.commerce`; each
test builds its shop with the one it needs through ``make_shop(payment_gateway=...)``.
(Concurrent checkouts are another suite's.)
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from bookshop_adapters.bootstrap import Shop, ShopSettings
from bookshop_adapters.testing.builders import ADMIN, CUSTOMER
from bookshop_adapters.testing.contract.commerce import (
    CrashingGateway,
    ProbingGateway,
    RaisingGateway,
    RecordingGateway,
    add_buyers,
    checkout,
    code_of,
    commerce_picture,
    every_order,
    fill_cart,
    restock_in_own_transaction,
    stocked_book,
)
from bookshop_adapters.testing.contract.prebooking import queued_messages
from bookshop_adapters.testing.pytest_plugin import MakeShop
from bookshop_core.catalog.commands import SetStock, UpdateBook
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import SetQuantity
from bookshop_core.commerce.entities import CartLine, OrderStatus
from bookshop_core.commerce.errors import OrderInsufficientStock, OrderPaymentFailed
from bookshop_core.commerce.use_cases import CommerceSettings, RecoveryReport
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import MessageKind
from bookshop_core.notifications.outbox import OutboxMessageQueued

__all__ = ["CheckoutContract"]

#: A pending order older than this is recovered; a key replay does not wait.
_SETTINGS = ShopSettings(
    checkout=CommerceSettings(pending_timeout=timedelta(minutes=15), key_wait=timedelta(0))
)


class _Refused(Exception):
    """Raised by an in-transaction handler to make a transaction fail."""


def _crashing(make_shop: MakeShop, *, charged: bool) -> AbstractAsyncContextManager[Shop]:
    """A shop whose gateway plays a crash during the payment (see :class:`CrashingGateway`)."""
    return make_shop(payment_gateway=CrashingGateway(charged=charged), settings=_SETTINGS)


async def _crash_checkout(
    shop: Shop, clock: ManualClock, *, quantity: int = 2
) -> tuple[Principal, Book, list[CartLine]]:
    """A buyer whose checkout of ``quantity`` copies of a fresh book (stock 3) dies while
    paying (in a :func:`_crashing` shop): a pending order is left with the stock taken and
    the cart line held."""
    [buyer] = await add_buyers(shop, clock, 1)
    book = await stocked_book(shop, stock=3)
    lines = await fill_cart(shop, buyer, (book, quantity))
    with pytest.raises(asyncio.CancelledError):
        await shop.orders.checkout(buyer)
    return buyer, book, lines


async def _stock(shop: Shop, book_id: int) -> int:
    return (await shop.catalog.get_book(book_id)).stock_quantity


@pytest.mark.asyncio
class CheckoutContract:
    """All or nothing; payment outside any transaction; failures and crashes give stock and
    cart back; idempotency keys; recovery of crashed checkouts."""

    # -- success ------------------------------------------------------------------------------

    async def test_checkout_confirms_an_order_of_every_line(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A confirmed order of every line at current prices; the total charged once."""
        gateway = RecordingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            first = await stocked_book(shop, "A", price="10.00")
            second = await stocked_book(shop, "B", price="2.50")
            await fill_cart(shop, buyer, (second, 2), (first, 1))
            order = await shop.orders.checkout(buyer)
        assert (order.user_id, order.status, order.created_at, order.total) == (
            buyer.user_id,
            OrderStatus.CONFIRMED,
            clock.now(),
            Decimal("15.00"),
        )
        assert [(i.book_id, i.title, i.author, i.quantity, i.unit_price) for i in order.items] == [
            (first.id, "A", "Author of A", 1, Decimal("10.00")),
            (second.id, "B", "Author of B", 2, Decimal("2.50")),
        ]
        assert order.payment_reference is not None
        assert order.failure_reason is None
        [request] = gateway.requests
        assert (request.order_id, request.user_id, request.amount) == (
            order.id,
            buyer.user_id,
            Decimal("15.00"),
        )

    async def test_checkout_takes_the_stock_and_empties_the_cart(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Each book's stock drops by its quantity; the cart is empty; the order is listed."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            first, second = await stocked_book(shop, "A", stock=5), await stocked_book(shop, "B")
            await fill_cart(shop, buyer, (first, 5), (second, 2))
            order = await shop.orders.checkout(buyer)
            assert (await _stock(shop, first.id), await _stock(shop, second.id)) == (0, 3)
            assert (await shop.cart.view(buyer)).lines == ()
            assert (await shop.orders.list_mine(buyer)).items == (order,)
            assert await shop.orders.get_mine(buyer, order.id) == order

    async def test_the_order_keeps_the_title_and_price_at_purchase(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A later title or price change leaves the order's lines and total as bought."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, "Dune", price="10.00")
            await fill_cart(shop, buyer, (book, 2))
            order = await shop.orders.checkout(buyer)
            await shop.catalog.update_book(
                ADMIN, book.id, UpdateBook(title="Dune (new)", price=Decimal("99.00"))
            )
            [line] = (await shop.orders.get_mine(buyer, order.id)).items
            assert (line.title, line.unit_price, line.line_total) == (
                "Dune",
                Decimal("10.00"),
                Decimal("20.00"),
            )
            assert (await shop.orders.get_mine(buyer, order.id)).total == Decimal("20.00")
            assert line.book is not None
            assert (line.book.title, line.book.price) == ("Dune (new)", Decimal("99.00"))

    async def test_checkout_queues_the_order_confirmation(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """One order_confirmation to the buyer with the order id, time, lines and total."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, "Dune", price="4.20")
            await fill_cart(shop, buyer, (book, 3))
            order = await shop.orders.checkout(buyer)
            [message] = await queued_messages(shop)
        assert (message.kind, message.recipients) == (
            MessageKind.ORDER_CONFIRMATION.value,
            ("reader0@example.com",),
        )
        assert message.variables == {
            "order_id": order.id,
            "created_at": order.created_at.isoformat(),
            "items": [{"title": "Dune", "quantity": 3, "unit_price": "4.20"}],
            "total": "12.60",
        }

    # -- refusals that change nothing ------------------------------------------------------

    async def test_an_empty_cart_is_refused_and_changes_nothing(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """ORDER_CART_EMPTY; the gateway is not called; no order is written."""
        gateway = RecordingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            await stocked_book(shop)
            before = await commerce_picture(shop, [buyer])
            assert await code_of(shop.orders.checkout(buyer)) == "ORDER_CART_EMPTY"
            assert await commerce_picture(shop, [buyer]) == before
        assert gateway.requests == []

    async def test_insufficient_stock_lists_each_short_line_and_changes_nothing(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """ORDER_INSUFFICIENT_STOCK lists every short line, no covered one; nothing changes."""
        gateway = RecordingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            short = await stocked_book(shop, "Short", stock=3)
            fine = await stocked_book(shop, "Fine", stock=3)
            gone = await stocked_book(shop, "Gone", stock=2)
            await fill_cart(shop, buyer, (short, 3), (fine, 3), (gone, 2))
            await shop.catalog.set_stock(ADMIN, short.id, SetStock(quantity=1))
            await shop.catalog.set_stock(ADMIN, gone.id, SetStock(quantity=0))
            before = await commerce_picture(shop, [buyer])
            with pytest.raises(OrderInsufficientStock) as caught:
                await shop.orders.checkout(buyer)
            assert await commerce_picture(shop, [buyer]) == before
        assert caught.value.code == "ORDER_INSUFFICIENT_STOCK"
        assert caught.value.details == {
            "items": [
                {"book_id": short.id, "title": "Short", "requested": 3, "available": 1},
                {"book_id": gone.id, "title": "Gone", "requested": 2, "available": 0},
            ]
        }
        assert gateway.requests == []

    # -- payment failures ---------------------------------------------------------------------

    async def test_a_declined_payment_gives_stock_and_cart_back_and_records_the_attempt(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A decline: ORDER_PAYMENT_FAILED; nothing changes but a payment_failed order."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=2)
            [line] = await fill_cart(shop, buyer, (book, 2))
            before = await commerce_picture(shop, [buyer])
            with pytest.raises(OrderPaymentFailed) as caught:
                await shop.orders.checkout(buyer, checkout(fail=True))
            assert caught.value.code == "ORDER_PAYMENT_FAILED"
            after = await commerce_picture(shop, [buyer])
            [attempt] = (await shop.orders.list_mine(buyer)).items
        assert attrs.evolve(after, orders=()) == before
        assert after.orders == (attempt,)
        assert (after.catalog.books[0].stock_quantity, after.carts) == (2, ((line,),))
        assert caught.value.details == {"order_id": attempt.id}
        assert (attempt.status, attempt.total, attempt.payment_reference) == (
            OrderStatus.PAYMENT_FAILED,
            Decimal("20.00"),
            None,
        )
        assert attempt.failure_reason

    async def test_a_gateway_that_raises_counts_as_a_decline(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A gateway exception: ORDER_PAYMENT_FAILED, stock and cart kept, the attempt recorded."""
        gateway = RaisingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=2)
            [line] = await fill_cart(shop, buyer, (book, 1))
            assert await code_of(shop.orders.checkout(buyer)) == "ORDER_PAYMENT_FAILED"
            assert await _stock(shop, book.id) == 2
            assert (await shop.cart.view(buyer)).lines == (line,)
            statuses = [o.status for o in (await shop.orders.list_mine(buyer)).items]
        assert statuses == [OrderStatus.PAYMENT_FAILED]
        assert gateway.calls == 1

    async def test_after_a_declined_payment_the_cart_can_be_bought(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """The kept cart checks out on the next try: two orders, failed then confirmed."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=2)
            await fill_cart(shop, buyer, (book, 2))
            await code_of(shop.orders.checkout(buyer, checkout(fail=True)))
            clock.advance(timedelta(seconds=1))
            order = await shop.orders.checkout(buyer)
            listed = [o.status for o in (await shop.orders.list_mine(buyer)).items]
            assert (order.status, await _stock(shop, book.id)) == (OrderStatus.CONFIRMED, 0)
        assert listed == [OrderStatus.CONFIRMED, OrderStatus.PAYMENT_FAILED]

    async def test_the_gateway_is_called_with_no_transaction_open(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Inside the charge, a write of its own on a cart book commits at once: no lock held."""
        shop_ref: list[Shop] = []

        async def probe() -> None:
            await restock_in_own_transaction(shop_ref[0], book.id, 10)

        gateway = ProbingGateway(probe)
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            shop_ref.append(shop)
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=3)
            await fill_cart(shop, buyer, (book, 2))
            order = await shop.orders.checkout(buyer)
            assert (gateway.probes, gateway.failures) == (1, [])
            assert (order.status, await _stock(shop, book.id)) == (OrderStatus.CONFIRMED, 11)

    async def test_a_cart_line_being_paid_for_cannot_change(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """While its checkout pays, the line refuses a new quantity and removal (in progress)."""
        shop_ref: list[Shop] = []
        codes: list[str] = []

        async def probe() -> None:
            shop = shop_ref[0]
            [line] = (await shop.cart.view(buyer)).lines
            codes.append(await code_of(shop.cart.set_quantity(buyer, line.id, SetQuantity(1))))
            codes.append(await code_of(shop.cart.remove(buyer, line.id)))

        gateway = ProbingGateway(probe)
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            shop_ref.append(shop)
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=3)
            await fill_cart(shop, buyer, (book, 2))
            order = await shop.orders.checkout(buyer)
        assert codes == ["ORDER_CHECKOUT_IN_PROGRESS"] * 2
        assert [(line.quantity, order.status) for line in order.items] == [
            (2, OrderStatus.CONFIRMED)
        ]

    # -- crashes and recovery -----------------------------------------------------------------

    async def test_a_crash_after_the_charge_is_recovered_as_confirmed(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A crash after the charge: pending, then recovery confirms, empties the cart, emails."""
        async with _crashing(make_shop, charged=True) as shop:
            buyer, book, _ = await _crash_checkout(shop, clock)
            [pending] = await every_order(shop)
            assert (pending.status, await _stock(shop, book.id)) == (OrderStatus.PENDING, 1)
            assert (await shop.orders.list_mine(buyer)).items == ()
            clock.advance(_SETTINGS.checkout.pending_timeout + timedelta(seconds=1))
            report = await shop.orders.recover_pending(Principal.system())
            assert report == RecoveryReport(confirmed=(pending.id,), failed=())
            order = await shop.orders.get_mine(buyer, pending.id)
            assert (order.status, order.payment_reference) == (
                OrderStatus.CONFIRMED,
                f"crash_{pending.id}",
            )
            assert (await _stock(shop, book.id), (await shop.cart.view(buyer)).lines) == (1, ())
            kinds = [m.kind for m in await queued_messages(shop)]
        assert kinds == [MessageKind.ORDER_CONFIRMATION.value]

    async def test_a_crash_before_the_charge_is_recovered_as_failed(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A crash before the charge: recovery fails the order, gives stock and cart back."""
        async with _crashing(make_shop, charged=False) as shop:
            buyer, book, [line] = await _crash_checkout(shop, clock)
            [pending] = await every_order(shop)
            clock.advance(_SETTINGS.checkout.pending_timeout + timedelta(seconds=1))
            report = await shop.orders.recover_pending(Principal.system())
            assert report == RecoveryReport(confirmed=(), failed=(pending.id,))
            assert (await _stock(shop, book.id), (await shop.cart.view(buyer)).lines) == (
                3,
                (line,),
            )
            [attempt] = (await shop.orders.list_mine(buyer)).items
            assert await queued_messages(shop) == []
        assert (attempt.id, attempt.status) == (pending.id, OrderStatus.PAYMENT_FAILED)

    async def test_recovery_with_no_minimum_age_settles_every_pending_order(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """``older_than=timedelta(0)`` means now, not the default timeout."""
        async with _crashing(make_shop, charged=False) as shop:
            _, book, _ = await _crash_checkout(shop, clock)
            clock.advance(timedelta(microseconds=1))
            report = await shop.orders.recover_pending(ADMIN, older_than=timedelta(0))
            assert (len(report.failed), await _stock(shop, book.id)) == (1, 3)

    async def test_recovery_leaves_a_pending_order_younger_than_the_timeout(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A checkout may still be paying: before the timeout recovery settles nothing."""
        async with _crashing(make_shop, charged=False) as shop:
            await _crash_checkout(shop, clock, quantity=1)
            clock.advance(_SETTINGS.checkout.pending_timeout - timedelta(seconds=1))
            assert await shop.orders.recover_pending(ADMIN) == RecoveryReport()
            [order] = await every_order(shop)
        assert order.status is OrderStatus.PENDING

    async def test_a_second_recovery_settles_nothing_again(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A settled order is not recovered again; its stock is returned once."""
        async with _crashing(make_shop, charged=False) as shop:
            _, book, _ = await _crash_checkout(shop, clock)
            clock.advance(_SETTINGS.checkout.pending_timeout + timedelta(seconds=1))
            await shop.orders.recover_pending(ADMIN)
            assert await shop.orders.recover_pending(ADMIN) == RecoveryReport()
            assert await _stock(shop, book.id) == 3

    async def test_only_admins_recover(self, make_shop: MakeShop, clock: ManualClock) -> None:
        """A customer calling recovery: AUTH_FORBIDDEN."""
        async with make_shop(settings=_SETTINGS) as shop:
            assert await code_of(shop.orders.recover_pending(CUSTOMER)) == "AUTH_FORBIDDEN"

    async def test_a_checkout_while_one_is_paying_is_in_progress(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Lines held by a paying checkout: ORDER_CHECKOUT_IN_PROGRESS, nothing bought."""
        async with _crashing(make_shop, charged=False) as shop:
            buyer, _, _ = await _crash_checkout(shop, clock)
            before = await commerce_picture(shop, [buyer])
            assert await code_of(shop.orders.checkout(buyer)) == "ORDER_CHECKOUT_IN_PROGRESS"
            assert await commerce_picture(shop, [buyer]) == before

    async def test_a_pending_order_is_invisible_to_users_and_admins(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Not in the buyer's list nor the admin's; get is ORDER_NOT_FOUND for both."""
        async with _crashing(make_shop, charged=False) as shop:
            buyer, _, _ = await _crash_checkout(shop, clock, quantity=1)
            [pending] = await every_order(shop)
            assert (await shop.orders.list_mine(buyer)).total == 0
            assert (await shop.orders.list_all(ADMIN)).total == 0
            assert await code_of(shop.orders.get_mine(buyer, pending.id)) == "ORDER_NOT_FOUND"
            assert await code_of(shop.orders.get(ADMIN, pending.id)) == "ORDER_NOT_FOUND"

    async def test_a_failure_after_the_charge_leaves_the_order_to_recovery(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A failed confirming transaction leaves the paid order pending; recovery confirms it."""
        gateway = RecordingGateway()
        refusing = True

        async def refuse(event: OutboxMessageQueued, uow: object) -> None:
            if refusing:
                raise _Refused

        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            shop.events.subscribe_in_transaction(OutboxMessageQueued, refuse)
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=3)
            await fill_cart(shop, buyer, (book, 2))
            with pytest.raises(_Refused):
                await shop.orders.checkout(buyer)
            [pending] = await every_order(shop)
            assert (pending.status, await _stock(shop, book.id)) == (OrderStatus.PENDING, 1)
            assert await queued_messages(shop) == []
            refusing = False
            clock.advance(_SETTINGS.checkout.pending_timeout + timedelta(seconds=1))
            report = await shop.orders.recover_pending(ADMIN)
            assert report == RecoveryReport(confirmed=(pending.id,))
            assert (await _stock(shop, book.id), (await shop.cart.view(buyer)).lines) == (1, ())
            assert len(await queued_messages(shop)) == 1
        assert len(gateway.requests) == 1

    # -- idempotency --------------------------------------------------------------------------

    async def test_a_retry_with_the_key_returns_the_same_order_and_buys_nothing_more(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A retried key returns the first order: no second charge, stock taken once."""
        gateway = RecordingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=5)
            await fill_cart(shop, buyer, (book, 2))
            first = await shop.orders.checkout(buyer, checkout("key-1"))
            again = await shop.orders.checkout(buyer, checkout("key-1"))
            assert again == first
            assert (await shop.orders.list_mine(buyer)).total == 1
            assert await _stock(shop, book.id) == 3
        assert (first.idempotency_key, len(gateway.requests)) == ("key-1", 1)

    async def test_a_retry_with_the_same_cart_refilled_returns_the_same_order(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """The same cart refilled and the key retried: the first order, nothing bought again."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=5)
            await fill_cart(shop, buyer, (book, 2))
            first = await shop.orders.checkout(buyer, checkout("key-1"))
            await fill_cart(shop, buyer, (book, 2))
            assert await shop.orders.checkout(buyer, checkout("key-1")) == first
            assert await _stock(shop, book.id) == 3
            assert len((await shop.cart.view(buyer)).lines) == 1

    async def test_the_same_key_with_a_different_cart_is_refused(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """ORDER_IDEMPOTENCY_KEY_REUSED, and the new cart is not bought."""
        async with make_shop(settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            first, second = await stocked_book(shop, "A"), await stocked_book(shop, "B")
            await fill_cart(shop, buyer, (first, 1))
            await shop.orders.checkout(buyer, checkout("key-1"))
            await fill_cart(shop, buyer, (second, 1))
            before = await commerce_picture(shop, [buyer])
            code = await code_of(shop.orders.checkout(buyer, checkout("key-1")))
            assert code == "ORDER_IDEMPOTENCY_KEY_REUSED"
            assert await commerce_picture(shop, [buyer]) == before

    async def test_a_key_whose_payment_failed_replays_the_failure(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A declined key's retry replays ORDER_PAYMENT_FAILED for that order, charging nothing."""
        gateway = RecordingGateway()
        async with make_shop(payment_gateway=gateway, settings=_SETTINGS) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            book = await stocked_book(shop, stock=2)
            await fill_cart(shop, buyer, (book, 1))
            with pytest.raises(OrderPaymentFailed) as first:
                await shop.orders.checkout(buyer, checkout("key-1", fail=True))
            before = await commerce_picture(shop, [buyer])
            with pytest.raises(OrderPaymentFailed) as again:
                await shop.orders.checkout(buyer, checkout("key-1"))
            assert await commerce_picture(shop, [buyer]) == before
            assert again.value.order_id == first.value.order_id
            assert len(gateway.requests) == 1
            bought = await shop.orders.checkout(buyer, checkout("key-2"))
        assert bought.status is OrderStatus.CONFIRMED

    async def test_keys_are_scoped_to_the_user(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """Two users checking out with one key get an order each."""
        async with make_shop(settings=_SETTINGS) as shop:
            buyers = await add_buyers(shop, clock, 2)
            book = await stocked_book(shop, stock=5)
            orders = []
            for buyer in buyers:
                await fill_cart(shop, buyer, (book, 1))
                orders.append(await shop.orders.checkout(buyer, checkout("shared-key")))
            assert await _stock(shop, book.id) == 3
        assert [o.user_id for o in orders] == [b.user_id for b in buyers]
        assert orders[0].id != orders[1].id

    async def test_a_key_of_a_checkout_still_paying_is_in_progress(
        self, make_shop: MakeShop, clock: ManualClock
    ) -> None:
        """A key whose order is still pending: ORDER_CHECKOUT_IN_PROGRESS, no second order."""
        async with _crashing(make_shop, charged=True) as shop:
            [buyer] = await add_buyers(shop, clock, 1)
            await fill_cart(shop, buyer, (await stocked_book(shop), 1))
            with pytest.raises(asyncio.CancelledError):
                await shop.orders.checkout(buyer, checkout("key-1"))
            code = await code_of(shop.orders.checkout(buyer, checkout("key-1")))
            assert code == "ORDER_CHECKOUT_IN_PROGRESS"
            assert len(await every_order(shop)) == 1
