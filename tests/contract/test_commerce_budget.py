"""Statement budget of commerce on the SQL backends: checkout, the cart, the wishlist and order
listings cost the same number of statements whatever the number of lines (no statement per
line, no N+1).

Like ``test_statement_budget.py``: measure with one line (or one order), then with many; the
counts must be equal, and small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import AddToCart, Checkout, NewBook, OrderPaymentFailed, Principal
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import ListOrders
from bookshop_core.commerce.entities import NewOrder, NewOrderLine, OrderStatus

pytestmark = pytest.mark.bookshop_backends("sqlite", "postgres")

MANY_LINES = 50
MANY_ORDERS = 20
LINES_PER_ORDER = 10
START = datetime(2024, 1, 1, tzinfo=UTC)


async def _statements(shop: Shop, action: Callable[[], Awaitable[Any]]) -> list[str]:
    from bookshop_adapters.sqlalchemy import count_statements

    with count_statements(shop.backend) as counted:  # type: ignore[arg-type]
        await action()
    return list(counted.statements)


async def _add_books(shop: Shop, count: int, *, stock: int = 100) -> list[Book]:
    """``count`` books in stock, written in one transaction."""
    books = [
        NewBook(
            title=f"Book {n:03}",
            author=f"Author {n % 7}",
            price=Decimal(n % 40 + 1) + Decimal("0.99"),
            isbn=None,
            genre_id=None,
            description=None,
            cover_image_url=None,
            publish_date=None,
            stock_quantity=stock,
            created_at=START,
        )
        for n in range(count)
    ]
    async with shop.unit_of_work() as uow:
        added = await uow.books.add_many(books)
        await uow.commit()
    return list(added)


async def _buyer(shop: Shop, name: str) -> Principal:
    principal, _ = await sign_up(shop, f"{name}@example.com")
    return principal


async def _fill_cart(shop: Shop, buyer: Principal, books: list[Book]) -> None:
    for book in books:
        await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=2))


async def _add_confirmed_orders(
    shop: Shop, buyer: Principal, books: list[Book], count: int
) -> None:
    """``count`` confirmed orders of ``buyer``, each of every book in ``books``, one day
    apart, written straight through the repositories in one transaction."""
    async with shop.unit_of_work() as uow:
        for n in range(count):
            created = START + timedelta(days=n)
            pending = await uow.orders.add_pending(
                NewOrder(
                    user_id=buyer.user_id,
                    lines=[
                        NewOrderLine(book.id, book.title, book.author, 1, book.price)
                        for book in books
                    ],
                    created_at=created,
                    idempotency_key=None,
                    cart_fingerprint="0" * 64,
                )
            )
            await uow.orders.transition(
                pending.id,
                from_=frozenset({OrderStatus.PENDING}),
                to=OrderStatus.CONFIRMED,
                now=created,
                payment_reference=f"ref-{n}",
            )
        await uow.commit()


async def test_checkout_costs_the_same_for_1_and_50_lines(shop: Shop) -> None:
    """Checkout (reserve, pay, confirm, queue the email) of a 50-line cart costs exactly the
    statements of a 1-line cart."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)

    small = await _statements(shop, lambda: shop.orders.checkout(one, Checkout()))
    large = await _statements(shop, lambda: shop.orders.checkout(many, Checkout()))

    assert len(large) == len(small), large
    assert len(large) <= 12, large


async def test_idempotent_checkout_costs_the_same_for_1_and_50_lines(shop: Shop) -> None:
    """Checkout with an idempotency key (one more lookup) and its replay: same counts for 1
    and 50 lines."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)
    command = Checkout(idempotency_key="key-1")

    small = await _statements(shop, lambda: shop.orders.checkout(one, command))
    large = await _statements(shop, lambda: shop.orders.checkout(many, command))
    small_replay = await _statements(shop, lambda: shop.orders.checkout(one, command))
    large_replay = await _statements(shop, lambda: shop.orders.checkout(many, command))

    assert len(large) == len(small), large
    assert len(large_replay) == len(small_replay), large_replay


async def test_failed_payment_costs_the_same_for_1_and_50_lines(shop: Shop) -> None:
    """A declined checkout (stock returned, cart lines released) of 50 lines costs what one
    of 1 line does."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)
    declined = Checkout(force_payment_failure=True)

    async def attempt(buyer: Principal) -> None:
        with pytest.raises(OrderPaymentFailed):
            await shop.orders.checkout(buyer, declined)

    small = await _statements(shop, lambda: attempt(one))
    large = await _statements(shop, lambda: attempt(many))

    assert len(large) == len(small), large


async def test_viewing_a_cart_is_one_statement_for_1_and_50_lines(shop: Shop) -> None:
    """The cart with current prices and stock is one query, whatever its size."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)

    small = await _statements(shop, lambda: shop.cart.view(one))
    large = await _statements(shop, lambda: shop.cart.view(many))

    assert len(small) == len(large) == 1, large


async def test_listing_the_wishlist_is_one_statement_for_1_and_50_books(shop: Shop) -> None:
    """The wishlist with current prices and stock is one query, whatever its size."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await shop.wishlist.add(one, books[0].id)
    for book in books:
        await shop.wishlist.add(many, book.id)

    small = await _statements(shop, lambda: shop.wishlist.list_mine(one))
    large = await _statements(shop, lambda: shop.wishlist.list_mine(many))

    assert len(small) == len(large) == 1, large


@pytest.mark.parametrize("listing", ["mine", "all", "all_filtered"])
async def test_listing_orders_costs_the_same_for_1_and_20_orders(
    shop: Shop, admin: Principal, listing: str
) -> None:
    """A page of orders with their lines (page, count, lines) costs the same for 1 order
    and for 20 orders of 10 lines each, with or without filters."""
    books = await _add_books(shop, LINES_PER_ORDER)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _add_confirmed_orders(shop, one, books, 1)
    await _add_confirmed_orders(shop, many, books, MANY_ORDERS)

    def action(buyer: Principal) -> Callable[[], Awaitable[Any]]:
        if listing == "mine":
            return lambda: shop.orders.list_mine(buyer, ListOrders(size=MANY_ORDERS))
        command = ListOrders(size=MANY_ORDERS, user_id=buyer.user_id)
        if listing == "all_filtered":
            command = ListOrders(
                size=MANY_ORDERS,
                user_id=buyer.user_id,
                status=OrderStatus.CONFIRMED,
                date_from=date(2024, 1, 1),
                date_to=date(2024, 12, 31),
            )
        return lambda: shop.orders.list_all(admin, command)

    page = await shop.orders.list_mine(many, ListOrders(size=MANY_ORDERS))
    assert len(page.items) == MANY_ORDERS
    assert all(len(order.items) == LINES_PER_ORDER for order in page.items)

    small = await _statements(shop, action(one))
    large = await _statements(shop, action(many))

    assert len(large) == len(small), large
    assert len(large) <= 3, large


async def test_reading_an_order_costs_the_same_for_1_and_50_lines(shop: Shop) -> None:
    """An order with its lines is one query, whatever its size."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)
    small_order = await shop.orders.checkout(one, Checkout())
    large_order = await shop.orders.checkout(many, Checkout())

    small = await _statements(shop, lambda: shop.orders.get_mine(one, small_order.id))
    large = await _statements(shop, lambda: shop.orders.get_mine(many, large_order.id))

    assert len(small) == len(large) == 1, large


async def test_cancelling_an_order_costs_the_same_for_1_and_50_lines(shop: Shop) -> None:
    """Cancelling (read, conditional move, lines, stock returned in one update) costs the
    same for 1 and 50 lines."""
    books = await _add_books(shop, MANY_LINES)
    one, many = await _buyer(shop, "one"), await _buyer(shop, "many")
    await _fill_cart(shop, one, books[:1])
    await _fill_cart(shop, many, books)
    small_order = await shop.orders.checkout(one, Checkout())
    large_order = await shop.orders.checkout(many, Checkout())

    small = await _statements(shop, lambda: shop.orders.cancel_mine(one, small_order.id))
    large = await _statements(shop, lambda: shop.orders.cancel_mine(many, large_order.id))

    assert len(large) == len(small), large
