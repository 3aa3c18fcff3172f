"""Shared set-up of the commerce contract (``commerce_cart``, ``commerce_checkout``,
``commerce_orders``): buyers, stocked books, filled carts, a comparable picture of everything
commerce stores, and payment gateways that decline, fail, crash or probe the store.

Every gateway here is backend-agnostic: it reaches the store only through the shop's public
unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from attrs import frozen

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.payments import DemoPaymentGateway
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.contract.prebooking import add_pre_bookers, queued_messages
from bookshop_adapters.testing.snapshot import StoreSnapshot, snapshot
from bookshop_core.catalog.entities import Book
from bookshop_core.commerce.commands import AddToCart, Checkout
from bookshop_core.commerce.entities import CartLine, Order, OrderQuery, WishlistItem
from bookshop_core.commerce.ports import PaymentRequest, PaymentResult
from bookshop_core.errors import DomainError
from bookshop_core.kernel.clock import ManualClock
from bookshop_core.kernel.pagination import MAX_PAGE_SIZE, PageRequest
from bookshop_core.kernel.principal import Principal
from bookshop_core.notifications import OutboxMessage

__all__ = [
    "CommercePicture",
    "CrashingGateway",
    "ProbingGateway",
    "RaisingGateway",
    "RecordingGateway",
    "add_buyers",
    "checkout",
    "code_of",
    "commerce_picture",
    "every_order",
    "fill_cart",
    "money",
    "restock_in_own_transaction",
    "stocked_book",
]

#: Later than any order a test makes: ``pending_before`` this finds every pending order.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


async def add_buyers(shop: Shop, clock: ManualClock, count: int) -> list[Principal]:
    """``count`` customers with addresses ``reader<n>@example.com`` (the confirmation email
    goes there)."""
    return await add_pre_bookers(shop, clock, count)


async def stocked_book(
    shop: Shop, title: str = "Dune", *, price: str = "10.00", stock: int = 5
) -> Book:
    """A book with a price and a stock (defaults: 10.00, 5 copies)."""
    return await add_book(shop, title, author=f"Author of {title}", price=price, stock=stock)


async def fill_cart(shop: Shop, buyer: Principal, *lines: tuple[Book, int]) -> list[CartLine]:
    """Put each ``(book, quantity)`` in the buyer's cart."""
    return [
        await shop.cart.add(buyer, AddToCart(book_id=book.id, quantity=quantity))
        for book, quantity in lines
    ]


async def code_of(awaitable: Awaitable[object]) -> str:
    """The error code the awaitable fails with (it must fail with a domain error)."""
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value.code


async def every_order(shop: Shop) -> list[Order]:
    """Every stored order, pending ones included, by id (read through the unit of work:
    no use case shows a pending order)."""
    async with shop.unit_of_work(read_only=True) as uow:
        listed = await uow.orders.list(OrderQuery(), PageRequest(1, MAX_PAGE_SIZE))
        pending = [
            await uow.orders.get(order_id)
            for order_id in await uow.orders.pending_before(_END_OF_TIME, MAX_PAGE_SIZE)
        ]
    return sorted([*listed.items, *(o for o in pending if o is not None)], key=lambda o: o.id)


@frozen
class CommercePicture:
    """Everything commerce stores that a failure must leave alone: the catalog (stock
    included), the given users' carts and wishlists, every order and the outbox."""

    catalog: StoreSnapshot
    carts: tuple[tuple[CartLine, ...], ...]
    wishlists: tuple[tuple[WishlistItem, ...], ...]
    orders: tuple[Order, ...]
    outbox: tuple[OutboxMessage, ...]


async def commerce_picture(shop: Shop, users: Sequence[Principal]) -> CommercePicture:
    """Read the picture (compare two with ``==``)."""
    return CommercePicture(
        catalog=await snapshot(shop),
        carts=tuple([tuple((await shop.cart.view(user)).lines) for user in users]),
        wishlists=tuple([tuple(await shop.wishlist.list_mine(user)) for user in users]),
        orders=tuple(await every_order(shop)),
        outbox=tuple(await queued_messages(shop)),
    )


class RecordingGateway(DemoPaymentGateway):
    """The demo gateway (approves; declines when the checkout forces it) that keeps every
    request it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[PaymentRequest] = []

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        self.requests.append(request)
        return await super().charge(request)


class RaisingGateway:
    """A provider that is down: every charge raises; nothing was ever charged."""

    def __init__(self) -> None:
        self.calls = 0

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        self.calls += 1
        raise ConnectionError("payment provider unreachable")

    async def find(self, order_id: int) -> PaymentResult | None:
        return None


class CrashingGateway:
    """Plays the process dying during the payment call: ``charge`` raises
    :class:`asyncio.CancelledError` (which checkout does not catch), after approving the
    charge when ``charged`` (the provider took the money), before it otherwise. ``find``
    answers what the provider knows."""

    def __init__(self, *, charged: bool) -> None:
        self.charged = charged
        self._results: dict[int, PaymentResult] = {}

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        if self.charged:
            self._results[request.order_id] = PaymentResult.approve(f"crash_{request.order_id}")
        raise asyncio.CancelledError

    async def find(self, order_id: int) -> PaymentResult | None:
        return self._results.get(order_id)


class ProbingGateway(DemoPaymentGateway):
    """Approves, after proving no transaction of the checkout is open: inside ``charge`` it
    runs ``probe`` (a write of its own on the same store) with a timeout. A lock held by the
    checkout would make the probe wait (memory: the store lock; SQLite: the write lock;
    PostgreSQL: the book's row lock) and time out; what went wrong is kept in ``failures``.

    Args:
        probe: Opens, writes and commits a unit of work of its own.
        timeout: Seconds the probe may take (a lock wait lasts until the checkout ends).
    """

    def __init__(self, probe: Callable[[], Awaitable[None]], *, timeout: float = 5.0) -> None:
        super().__init__()
        self._probe = probe
        self._timeout = timeout
        self.probes = 0
        self.failures: list[BaseException] = []

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        self.probes += 1
        try:
            await asyncio.wait_for(self._probe(), self._timeout)
        except (Exception, TimeoutError) as exc:
            self.failures.append(exc)
        return await super().charge(request)


async def restock_in_own_transaction(shop: Shop, book_id: int, delta: int) -> None:
    """Add ``delta`` to a book's stock in a write transaction of its own, straight through
    the unit of work (what a :class:`ProbingGateway` probe does inside the charge)."""
    async with shop.unit_of_work() as uow:
        await uow.books.adjust_stock(book_id, delta)
        await uow.commit()


def money(value: str) -> Decimal:
    """An exact amount."""
    return Decimal(value)


def checkout(key: str | None = None, *, fail: bool = False) -> Checkout:
    """A checkout command (with an idempotency key; forcing a decline)."""
    return Checkout(idempotency_key=key, force_payment_failure=fail)
