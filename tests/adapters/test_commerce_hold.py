"""``CartRepository.hold`` on every backend, below the use cases: within one unit of work
(memory serialises units of work, so another tab cannot add a line while a checkout runs
there), a line added after the pending order was written is not held by it."""

from __future__ import annotations

from datetime import UTC, datetime

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book
from bookshop_core.commerce.entities import NewOrder, NewOrderLine
from bookshop_core.identity.entities import NewUser
from bookshop_core.kernel.principal import Role

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


async def test_hold_takes_only_the_lines_of_the_books_the_order_bought(shop: Shop) -> None:
    """Lines of books outside the pending order stay plain cart lines (the port's rule)."""
    bought = await add_book(shop, "Bought", stock=5)
    later = await add_book(shop, "Later", stock=5)
    async with shop.unit_of_work() as uow:
        user = await uow.users.add(NewUser("buyer@example.com", None, Role.USER, created_at=WHEN))
        await uow.carts.add(user.id, bought.id, 1, added_at=WHEN)
        line = NewOrderLine(bought.id, bought.title, bought.author, 1, bought.price)
        order = await uow.orders.add_pending(
            NewOrder(user.id, [line], WHEN, idempotency_key=None, cart_fingerprint="f")
        )
        await uow.carts.add(user.id, later.id, 1, added_at=WHEN)
        await uow.carts.hold(user.id, order.id)
        lines = await uow.carts.lines(user.id)
    assert {line.book_id: line.held_by for line in lines} == {bought.id: order.id, later.id: None}
