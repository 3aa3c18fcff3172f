"""The commerce context's ports: the cart, order and wishlist repositories, the unit of work
that carries them, and the payment gateway.

Every backend passes the commerce contract (``bookshop_adapters.testing.contract``).
Statement budgets: every repository method is a bounded number of statements whatever the
number of lines it touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from attrs import frozen

from bookshop_core.catalog.entities import StockChange
from bookshop_core.commerce.entities import (
    CartLine,
    NewOrder,
    Order,
    OrderLine,
    OrderQuery,
    OrderStatus,
    WishlistItem,
)
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.uow import UnitOfWork

__all__ = [
    "CartRepository",
    "CommerceUnitOfWork",
    "OrderRepository",
    "PaymentGateway",
    "PaymentRequest",
    "PaymentResult",
    "WishlistRepository",
]


class CartRepository(Protocol):
    """Stores cart lines: at most one per user and book (race-safe: a unique index on SQL).
    A deleted book's lines go with it."""

    async def lines(self, user_id: int, *, lock: bool = False) -> Sequence[CartLine]:
        """Every line of the user's cart with its book as it is now, by book id, in one
        statement.

        Args:
            lock: Lock the lines and their books until the transaction ends, in book id
                order (every checkout locks in that one order, so two never deadlock); a
                concurrent stock change or checkout of the same books waits. Stores whose
                writers are serialised anyway (memory, SQLite) need do nothing more.
        """
        ...

    async def get(self, item_id: int) -> CartLine | None:
        """The line with this id (any user's)."""
        ...

    async def add(
        self, user_id: int, book_id: int, quantity: int, *, added_at: datetime
    ) -> CartLine:
        """Store a new line (the caller checked the book and its stock).

        Raises:
            Conflict: ``CART_ITEM_DUPLICATE`` when the user's cart has the book already.
        """
        ...

    async def set_quantity(self, item_id: int, quantity: int) -> CartLine | None:
        """Set a line's quantity; ``None`` when the line is gone."""
        ...

    async def remove(self, item_id: int) -> bool:
        """Delete a line; ``False`` when it was gone."""
        ...

    async def hold(self, user_id: int, order_id: int) -> None:
        """Mark the user's cart lines that no checkout holds and whose book is in the pending
        order ``order_id`` as held by it (one statement). A line added meanwhile from another
        tab is not in the order, so it stays a plain line (it was not bought)."""
        ...

    async def release(self, order_id: int) -> None:
        """Give back the lines the order holds (its payment failed): they are plain cart
        lines again (one statement)."""
        ...

    async def remove_held(self, order_id: int) -> None:
        """Delete the lines the order holds (it was paid) (one statement)."""
        ...


class OrderRepository(Protocol):
    """Stores orders and their lines, and moves the stock they reserve and return."""

    async def add_pending(self, order: NewOrder) -> Order:
        """Write a ``pending`` order and its lines, and take each line's quantity from its
        book's stock, in a bounded number of statements. The caller holds the books' locks
        and checked the stock (``CHECK (stock_quantity >= 0)`` is the last defence).

        Raises:
            Conflict: ``ORDER_CHECKOUT_IN_PROGRESS`` when the user has an order with this
                idempotency key already: a concurrent checkout with the same key got there
                first (race-safe: a unique index on SQL).
        """
        ...

    async def get(self, order_id: int) -> Order | None:
        """The order with this id, with its lines, in a bounded number of statements."""
        ...

    async def find_by_key(self, user_id: int, idempotency_key: str) -> Order | None:
        """The user's order checked out with this idempotency key."""
        ...

    async def transition(
        self,
        order_id: int,
        *,
        from_: frozenset[OrderStatus],
        to: OrderStatus,
        now: datetime,
        payment_reference: str | None = None,
        failure_reason: str | None = None,
        items: Sequence[OrderLine] | None = None,
    ) -> Order | None:
        """Move the order to ``to`` if its status is one of ``from_`` (one conditional
        write, so two concurrent moves cannot both pass); ``None`` when it does not exist or
        its status is not in ``from_``.

        Args:
            items: The order's lines as the caller holds them (checkout has the lines it
                wrote; a cancel has the order it just read): the moved order carries them as
                its ``items``, as given, and the store does not read them again (on SQL one
                statement less). ``None``: the moved order's lines are read (with their
                books as they are now).
        """
        ...

    async def return_stock(self, order_id: int) -> Sequence[StockChange]:
        """Give each line's quantity back to its book's stock (books deleted since are
        skipped), in one statement; the changes by book id."""
        ...

    async def list(self, query: OrderQuery, page: PageRequest) -> Page[Order]:
        """One page of the orders matching ``query`` (never ``pending`` ones), newest first
        (``created_at``, then id), with their lines and the exact total, in a bounded number
        of statements whatever the page size."""
        ...

    async def pending_before(self, cutoff: datetime, limit: int) -> Sequence[int]:
        """The ids of up to ``limit`` orders still ``pending`` that were created before
        ``cutoff``, oldest first."""
        ...


class WishlistRepository(Protocol):
    """Stores wishlist entries: at most one per user and book (race-safe). A deleted book's
    entries go with it."""

    async def add(self, user_id: int, book_id: int, *, added_at: datetime) -> WishlistItem | None:
        """Store an entry; ``None`` when the book does not exist.

        Raises:
            Conflict: ``WISHLIST_ITEM_DUPLICATE`` when it is on the wishlist already.
        """
        ...

    async def remove(self, user_id: int, book_id: int) -> bool:
        """Delete the user's entry of the book; ``False`` when there was none."""
        ...

    async def list_for_user(self, user_id: int) -> Sequence[WishlistItem]:
        """The user's entries with their books as they are now, newest first (``added_at``,
        then id), in one statement."""
        ...


class CommerceUnitOfWork(UnitOfWork, Protocol):
    """What the commerce use cases need from a unit of work: ``carts``, ``orders`` and
    ``wishlist``."""

    @property
    def carts(self) -> CartRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def wishlist(self) -> WishlistRepository: ...


@frozen
class PaymentRequest:
    """What checkout asks a payment gateway to charge.

    Attributes:
        order_id: The pending order being paid: the gateway's idempotency reference (a
            gateway must charge one order at most once, and be able to say later whether it
            did, see :meth:`PaymentGateway.find`).
        user_id: The buyer.
        amount: The order's total (exact).
        currency: The shop's ISO 4217 currency code.
        force_failure: Ask a test gateway to decline (the demo gateway honours it; a real
            gateway ignores it).
    """

    order_id: int
    user_id: int
    amount: Decimal
    currency: str
    force_failure: bool = False


@frozen
class PaymentResult:
    """A gateway's answer: approved with a reference, or declined with a reason."""

    approved: bool
    reference: str | None = None
    reason: str | None = None

    @classmethod
    def approve(cls, reference: str) -> PaymentResult:
        return cls(approved=True, reference=reference)

    @classmethod
    def decline(cls, reason: str) -> PaymentResult:
        return cls(approved=False, reason=reason)


class PaymentGateway(Protocol):
    """Charges orders. Checkout calls it with no database transaction open (no lock is held
    while a payment provider answers).

    A real gateway adapter wraps a provider's API: ``charge`` creates (or, for an order id it
    has seen, returns) the payment for the order, and ``find`` looks it up by order id so that
    an order left ``pending`` by a crash can be settled (``Orders.recover_pending``). An
    exception from ``charge`` counts as a decline.
    """

    async def charge(self, request: PaymentRequest) -> PaymentResult:
        """Charge the order (at most once per ``order_id``)."""
        ...

    async def find(self, order_id: int) -> PaymentResult | None:
        """The outcome of the order's charge, or ``None`` when it was never charged."""
        ...
