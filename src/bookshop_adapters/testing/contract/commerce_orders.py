"""Contract: orders after checkout, on every backend.

Users list, read and cancel only their own orders (another user's is ``ORDER_NOT_FOUND``);
admins list every order with filters and pages, newest first, and move orders along the
transition table; anything off the table is ``ORDER_INVALID_TRANSITION``. Cancelling gives the
stock back, and a book going from 0 to above 0 that way notifies its pre-bookers. An order
outlives the books it bought: its lines keep their title and price.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import ADMIN, CUSTOMER
from bookshop_adapters.testing.contract.commerce import (
    add_buyers,
    checkout,
    code_of,
    commerce_picture,
    fill_cart,
    stocked_book,
)
from bookshop_adapters.testing.contract.prebooking import queued_messages
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import ListOrders, SetOrderStatus
from bookshop_core.commerce.entities import TRANSITIONS, Order, OrderStatus
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import MessageKind
from bookshop_core.prebooking import PreBookingStatus

__all__ = ["OrderContract"]

#: Every status an admin may ask for (pending is internal).
_TARGETS = tuple(s for s in OrderStatus if s is not OrderStatus.PENDING)

#: How to bring a confirmed order to each status an order can rest in.
_PATHS: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.CONFIRMED: (),
    OrderStatus.SHIPPED: (OrderStatus.SHIPPED,),
    OrderStatus.DELIVERED: (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    OrderStatus.CANCELLED: (OrderStatus.CANCELLED,),
}


async def _buy(shop: Shop, buyer: Principal, book: Book, quantity: int = 1) -> Order:
    """Put the book in the buyer's cart and check it out (confirmed)."""
    await fill_cart(shop, buyer, (book, quantity))
    return await shop.orders.checkout(buyer)


async def _order_in(shop: Shop, buyer: Principal, book: Book, status: OrderStatus) -> Order:
    """An order of one copy brought to ``status`` (a declined checkout for payment_failed)."""
    if status is OrderStatus.PAYMENT_FAILED:
        await fill_cart(shop, buyer, (book, 1))
        await code_of(shop.orders.checkout(buyer, checkout(fail=True)))
        [failed] = (await shop.orders.list_mine(buyer, ListOrders(status=status))).items
        [line] = (await shop.cart.view(buyer)).lines
        await shop.cart.remove(buyer, line.id)
        return failed
    order = await _buy(shop, buyer, book)
    for step in _PATHS[status]:
        order = await shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=step))
    return order


async def _stock(shop: Shop, book_id: int) -> int:
    return (await shop.catalog.get_book(book_id)).stock_quantity


@pytest.mark.asyncio
class OrderContract:
    """Own orders only; admin lists with filters and pages; the transition table; cancelling
    returns stock (and notifies pre-bookers); lines outlive their books."""

    # -- a user's own orders ------------------------------------------------------------------

    async def test_users_list_only_their_own_orders_newest_first(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``list_mine``: the caller's orders, newest first, with the exact total."""
        buyer, other = await add_buyers(shop, clock, 2)
        book = await stocked_book(shop, stock=10)
        mine = []
        for _ in range(3):
            mine.append(await _buy(shop, buyer, book))
            clock.advance(timedelta(minutes=1))
        await _buy(shop, other, book)
        page = await shop.orders.list_mine(buyer)
        assert [o.id for o in page.items] == [o.id for o in reversed(mine)]
        assert page.total == 3

    async def test_users_filter_their_orders_by_status(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``list_mine`` with a status lists the caller's orders in that status only."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=10)
        kept = await _buy(shop, buyer, book)
        cancelled = await _buy(shop, buyer, book)
        await shop.orders.cancel_mine(buyer, cancelled.id)
        page = await shop.orders.list_mine(buyer, ListOrders(status=OrderStatus.CONFIRMED))
        assert [o.id for o in page.items] == [kept.id]

    async def test_another_users_order_is_not_found(self, shop: Shop, clock: ManualClock) -> None:
        """Another user's order, read or cancelled: ORDER_NOT_FOUND; nothing changes."""
        owner, other = await add_buyers(shop, clock, 2)
        order = await _buy(shop, owner, await stocked_book(shop))
        before = await commerce_picture(shop, [owner, other])
        assert await code_of(shop.orders.get_mine(other, order.id)) == "ORDER_NOT_FOUND"
        assert await code_of(shop.orders.cancel_mine(other, order.id)) == "ORDER_NOT_FOUND"
        assert await code_of(shop.orders.get_mine(owner, 999_999)) == "ORDER_NOT_FOUND"
        assert await commerce_picture(shop, [owner, other]) == before

    async def test_a_user_cancels_their_confirmed_order_and_the_stock_returns(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The order is cancelled at now; each book's stock is back."""
        [buyer] = await add_buyers(shop, clock, 1)
        first, second = await stocked_book(shop, "A", stock=3), await stocked_book(shop, "B")
        await fill_cart(shop, buyer, (first, 3), (second, 2))
        order = await shop.orders.checkout(buyer)
        clock.advance(timedelta(hours=1))
        cancelled = await shop.orders.cancel_mine(buyer, order.id)
        assert (cancelled.status, cancelled.updated_at) == (OrderStatus.CANCELLED, clock.now())
        assert (await _stock(shop, first.id), await _stock(shop, second.id)) == (3, 5)
        read = await shop.orders.get_mine(buyer, order.id)
        assert (read.status, read.updated_at) == (OrderStatus.CANCELLED, clock.now())

    async def test_cancelling_the_last_copies_back_notifies_the_prebookers(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A cancel taking stock from 0 to above 0 notifies the waiting pre-booker."""
        buyer, waiting = await add_buyers(shop, clock, 2)
        book = await stocked_book(shop, "Dune", stock=2)
        order = await _buy(shop, buyer, book, 2)
        prebooking = await shop.prebookings.prebook(waiting, book.id)
        await shop.orders.cancel_mine(buyer, order.id)
        [notified] = await shop.prebookings.list_mine(waiting)
        assert (notified.id, notified.status) == (prebooking.id, PreBookingStatus.NOTIFIED)
        back = [m for m in await queued_messages(shop) if m.kind == MessageKind.BACK_IN_STOCK]
        assert [m.recipients for m in back] == [("reader1@example.com",)]

    async def test_cancelling_with_stock_left_notifies_nobody(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Stock 1 -> 3 is no restock: no back_in_stock message."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=3)
        order = await _buy(shop, buyer, book, 2)
        await shop.orders.cancel_mine(buyer, order.id)
        kinds = {m.kind for m in await queued_messages(shop)}
        assert kinds == {MessageKind.ORDER_CONFIRMATION.value}

    async def test_a_user_cannot_cancel_a_shipped_order(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Shipped: ORDER_INVALID_TRANSITION, and the stock is not returned."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=3)
        order = await _order_in(shop, buyer, book, OrderStatus.SHIPPED)
        assert await code_of(shop.orders.cancel_mine(buyer, order.id)) == (
            "ORDER_INVALID_TRANSITION"
        )
        assert (await shop.orders.get_mine(buyer, order.id)).status is OrderStatus.SHIPPED
        assert await _stock(shop, book.id) == 2

    async def test_a_transition_given_the_lines_carries_them_and_moves_the_order(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """``orders.transition(items=...)`` (the caller holds the lines) returns the moved
        order with those lines, and the order reads back moved, with the same lines."""
        [buyer] = await add_buyers(shop, clock, 1)
        order = await _buy(shop, buyer, await stocked_book(shop), quantity=2)
        clock.advance(timedelta(minutes=1))
        async with shop.unit_of_work() as uow:
            moved = await uow.orders.transition(
                order.id,
                from_=frozenset({OrderStatus.CONFIRMED}),
                to=OrderStatus.SHIPPED,
                now=clock.now(),
                items=order.items,
            )
            await uow.commit()
        assert moved is not None
        assert (moved.status, moved.items) == (OrderStatus.SHIPPED, order.items)
        assert await shop.orders.get(ADMIN, order.id) == moved

    # -- the transition table -----------------------------------------------------------------

    async def test_every_transition_off_the_table_is_refused_and_changes_nothing(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Every pair off the table: ORDER_INVALID_TRANSITION, the store unchanged."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=50)
        refused = []
        for start in (*_PATHS, OrderStatus.PAYMENT_FAILED):
            order = await _order_in(shop, buyer, book, start)
            for target in _TARGETS:
                if target in TRANSITIONS[start]:
                    continue
                before = await commerce_picture(shop, [buyer])
                code = await code_of(
                    shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=target))
                )
                assert (start, target, code) == (start, target, "ORDER_INVALID_TRANSITION")
                assert await commerce_picture(shop, [buyer]) == before
                refused.append((start, target))
        assert len(refused) == 5 * len(_TARGETS) - 3

    async def test_admins_move_an_order_along_the_table(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """confirmed -> shipped -> delivered, each at now; the stock stays sold."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=3)
        order = await _buy(shop, buyer, book)
        for status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            clock.advance(timedelta(days=1))
            order = await shop.orders.set_status(ADMIN, order.id, SetOrderStatus(status=status))
            assert (order.status, order.updated_at) == (status, clock.now())
        assert await shop.orders.get(ADMIN, order.id) == order
        assert await _stock(shop, book.id) == 2

    async def test_an_admin_cancel_returns_the_stock(self, shop: Shop, clock: ManualClock) -> None:
        """confirmed -> cancelled by an admin: the stock is back."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=3)
        order = await _buy(shop, buyer, book, 3)
        moved = await shop.orders.set_status(
            ADMIN, order.id, SetOrderStatus(status=OrderStatus.CANCELLED)
        )
        assert (moved.status, await _stock(shop, book.id)) == (OrderStatus.CANCELLED, 3)

    async def test_admin_order_use_cases_refuse_customers(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """list_all, get and set_status: AUTH_FORBIDDEN for a customer."""
        [buyer] = await add_buyers(shop, clock, 1)
        order = await _buy(shop, buyer, await stocked_book(shop))
        shipped = SetOrderStatus(status=OrderStatus.SHIPPED)
        assert await code_of(shop.orders.list_all(CUSTOMER)) == "AUTH_FORBIDDEN"
        assert await code_of(shop.orders.get(CUSTOMER, order.id)) == "AUTH_FORBIDDEN"
        assert await code_of(shop.orders.set_status(CUSTOMER, order.id, shipped)) == (
            "AUTH_FORBIDDEN"
        )

    async def test_an_unknown_order_is_not_found_for_admins(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """get and set_status of an id no order has: ORDER_NOT_FOUND."""
        shipped = SetOrderStatus(status=OrderStatus.SHIPPED)
        assert await code_of(shop.orders.get(ADMIN, 999_999)) == "ORDER_NOT_FOUND"
        assert await code_of(shop.orders.set_status(ADMIN, 999_999, shipped)) == ("ORDER_NOT_FOUND")

    # -- the admin list -----------------------------------------------------------------------

    async def test_admins_list_every_order_newest_first_in_pages(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Every user's orders, newest first, the exact total on every page."""
        buyers = await add_buyers(shop, clock, 2)
        book = await stocked_book(shop, stock=10)
        made = []
        for n in range(5):
            made.append(await _buy(shop, buyers[n % 2], book))
            clock.advance(timedelta(minutes=1))
        newest_first = [o.id for o in reversed(made)]
        pages = [await shop.orders.list_all(ADMIN, ListOrders(page=n, size=2)) for n in (1, 2, 3)]
        assert [[o.id for o in p.items] for p in pages] == [
            newest_first[:2],
            newest_first[2:4],
            newest_first[4:],
        ]
        assert {p.total for p in pages} == {5}

    async def test_orders_made_at_one_instant_list_by_id_descending(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """Ties on the creation time: the higher id first."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=10)
        made = [await _buy(shop, buyer, book) for _ in range(3)]
        listed = await shop.orders.list_all(ADMIN)
        assert [o.id for o in listed.items] == sorted((o.id for o in made), reverse=True)

    async def test_admins_filter_by_status_and_user(self, shop: Shop, clock: ManualClock) -> None:
        """``status`` and ``user_id`` narrow the list, together too."""
        buyer, other = await add_buyers(shop, clock, 2)
        book = await stocked_book(shop, stock=10)
        shipped = await _order_in(shop, buyer, book, OrderStatus.SHIPPED)
        confirmed = await _buy(shop, buyer, book)
        theirs = await _order_in(shop, other, book, OrderStatus.SHIPPED)

        async def ids(command: ListOrders) -> set[int]:
            return {o.id for o in (await shop.orders.list_all(ADMIN, command)).items}

        assert await ids(ListOrders(status=OrderStatus.SHIPPED)) == {shipped.id, theirs.id}
        assert await ids(ListOrders(user_id=buyer.user_id)) == {shipped.id, confirmed.id}
        both = ListOrders(status=OrderStatus.SHIPPED, user_id=other.user_id)
        assert await ids(both) == {theirs.id}

    async def test_admins_filter_by_inclusive_days(self, shop: Shop, clock: ManualClock) -> None:
        """``date_from``/``date_to`` are inclusive UTC days."""
        [buyer] = await add_buyers(shop, clock, 1)
        book = await stocked_book(shop, stock=10)
        by_day = {}
        for day in (1, 2, 3):
            clock.set(clock.now().replace(day=day, hour=23, minute=59))
            by_day[day] = (await _buy(shop, buyer, book)).id
        page = await shop.orders.list_all(
            ADMIN, ListOrders(date_from=date(2024, 1, 2), date_to=date(2024, 1, 3))
        )
        assert [o.id for o in page.items] == [by_day[3], by_day[2]]
        only_first = await shop.orders.list_all(ADMIN, ListOrders(date_to=date(2024, 1, 1)))
        assert [o.id for o in only_first.items] == [by_day[1]]

    async def test_the_extreme_days_bound_nothing(self, shop: Shop, clock: ManualClock) -> None:
        """The first and last representable days are valid bounds that keep every order."""
        [buyer] = await add_buyers(shop, clock, 1)
        order = await _buy(shop, buyer, await stocked_book(shop, stock=2))
        widest = ListOrders(date_from=date.min, date_to=date.max)
        assert [o.id for o in (await shop.orders.list_all(ADMIN, widest)).items] == [order.id]

    # -- orders outlive their books ---------------------------------------------------------

    async def test_a_deleted_books_order_lines_keep_title_and_price(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """A deleted book's order line keeps title, quantity, price; book_id and book None."""
        [buyer] = await add_buyers(shop, clock, 1)
        gone = await stocked_book(shop, "Gone", price="3.00")
        kept = await stocked_book(shop, "Kept", price="1.00")
        await fill_cart(shop, buyer, (gone, 2), (kept, 1))
        order = await shop.orders.checkout(buyer)
        await shop.catalog.delete_book(ADMIN, gone.id)
        read = await shop.orders.get_mine(buyer, order.id)
        [lost] = [line for line in read.items if line.title == "Gone"]
        assert (lost.book_id, lost.book, lost.quantity, lost.unit_price) == (
            None,
            None,
            2,
            Decimal("3.00"),
        )
        assert [line.book_id for line in read.items if line.title == "Kept"] == [kept.id]
        assert read.total == Decimal("7.00")
        assert (await shop.orders.list_all(ADMIN)).items == (read,)

    async def test_cancelling_an_order_of_a_deleted_book_returns_the_rest(
        self, shop: Shop, clock: ManualClock
    ) -> None:
        """The deleted book is skipped; the other lines' stock comes back."""
        [buyer] = await add_buyers(shop, clock, 1)
        gone, kept = await stocked_book(shop, "Gone"), await stocked_book(shop, "Kept")
        await fill_cart(shop, buyer, (gone, 1), (kept, 2))
        order = await shop.orders.checkout(buyer)
        await shop.catalog.delete_book(ADMIN, gone.id)
        cancelled = await shop.orders.cancel_mine(buyer, order.id)
        assert cancelled.status is OrderStatus.CANCELLED
        assert await _stock(shop, kept.id) == 5
