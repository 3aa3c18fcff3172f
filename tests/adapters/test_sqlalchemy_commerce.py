"""The SQL commerce repositories' own guarantees, below the use cases: the stock guard of
``add_pending``, and what a concurrent writer sees while a checkout holds a cart's locks.

Runs on SQLite (a temporary file) and on PostgreSQL when one is available, one fresh
database per test (``tests/adapters/conftest.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bookshop_adapters.sqlalchemy import SqlBackend
from bookshop_core.catalog.entities import NewBook, StockChange
from bookshop_core.commerce.entities import NewOrder, NewOrderLine
from bookshop_core.commerce.errors import OrderInsufficientStock
from bookshop_core.identity.entities import NewUser
from bookshop_core.kernel.principal import Role

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def _book(title: str, stock: int) -> NewBook:
    return NewBook(
        title=title,
        author="A",
        price=Decimal("5.00"),
        isbn=None,
        genre_id=None,
        description=None,
        cover_image_url=None,
        publish_date=None,
        stock_quantity=stock,
        created_at=WHEN,
    )


def _order(user_id: int, *lines: tuple[int, int]) -> NewOrder:
    return NewOrder(
        user_id,
        [NewOrderLine(book, f"Book {book}", "A", qty, Decimal("5.00")) for book, qty in lines],
        WHEN,
        idempotency_key=None,
        cart_fingerprint="f",
    )


async def _user(backend: SqlBackend, email: str) -> int:
    async with backend.unit_of_work() as uow:
        user = await uow.users.add(NewUser(email, None, Role.USER, created_at=WHEN))
        await uow.commit()
    return user.id


async def test_add_pending_never_takes_stock_it_does_not_have(backend: SqlBackend) -> None:
    """A line above its book's stock (a caller that did not check under lock) is
    ORDER_INSUFFICIENT_STOCK listing that line; nothing is taken once rolled back."""
    user = await _user(backend, "buyer@example.com")
    async with backend.unit_of_work() as uow:
        plenty, scarce = await uow.books.add_many([_book("Plenty", 9), _book("Scarce", 1)])
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(OrderInsufficientStock) as caught:
            await uow.orders.add_pending(_order(user, (plenty.id, 2), (scarce.id, 2)))
    assert caught.value.details["items"] == [
        {"book_id": scarce.id, "title": f"Book {scarce.id}", "requested": 2, "available": 1}
    ]
    async with backend.unit_of_work(read_only=True) as uow:
        books = await uow.books.get_many([plenty.id, scarce.id])
        assert [book.stock_quantity for book in books] == [9, 1]
        assert await uow.orders.pending_before(datetime.max.replace(tzinfo=UTC), 10) == []


async def test_return_stock_skips_deleted_books(backend: SqlBackend) -> None:
    """Giving an order's stock back reports each book still in the catalog, before and
    after; a deleted book's line is skipped."""
    user = await _user(backend, "buyer@example.com")
    async with backend.unit_of_work() as uow:
        kept, gone = await uow.books.add_many([_book("Kept", 5), _book("Gone", 5)])
        order = await uow.orders.add_pending(_order(user, (kept.id, 2), (gone.id, 1)))
        await uow.books.delete(gone.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        changes = await uow.orders.return_stock(order.id)
        await uow.commit()
    assert list(changes) == [StockChange(kept.id, 3, 5)]


@pytest.mark.parametrize(
    "url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_line_added_while_a_checkout_runs_is_not_held_by_it(backend: SqlBackend) -> None:
    """PostgreSQL (SQLite would queue the second writer): a cart line added from another tab
    after checkout locked the cart stays a plain line; only the books bought are held."""
    user = await _user(backend, "buyer@example.com")
    async with backend.unit_of_work() as uow:
        first, later = await uow.books.add_many([_book("First", 5), _book("Later", 5)])
        await uow.carts.add(user, first.id, 1, added_at=WHEN)
        await uow.commit()
    async with backend.unit_of_work() as checkout:
        locked = await checkout.carts.lines(user, lock=True)
        async with backend.unit_of_work() as other_tab:
            await other_tab.carts.add(user, later.id, 1, added_at=WHEN)
            await other_tab.commit()
        order = await checkout.orders.add_pending(
            _order(user, *((line.book_id, line.quantity) for line in locked))
        )
        await checkout.carts.hold(user, order.id)
        await checkout.commit()
    async with backend.unit_of_work(read_only=True) as uow:
        lines = await uow.carts.lines(user)
    assert {line.book_id: line.held_by for line in lines} == {first.id: order.id, later.id: None}
