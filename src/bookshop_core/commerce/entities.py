"""The commerce context's values: carts, orders with their status machine, wishlists."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from attrs import field, frozen

__all__ = [
    "BookSummary",
    "Cart",
    "CartLine",
    "NewOrder",
    "NewOrderLine",
    "Order",
    "OrderLine",
    "OrderQuery",
    "OrderStatus",
    "ShortLine",
    "WishlistItem",
    "cart_fingerprint",
]


class OrderStatus(enum.StrEnum):
    """Where an order is in its life.

    ``pending`` is internal: stock is reserved and the payment gateway is being called (a
    crash leaves it for :meth:`~bookshop_core.commerce.Orders.recover_pending`). Then
    ``confirmed`` (paid) or ``payment_failed`` (the attempt, kept as a record); a confirmed
    order is ``shipped`` then ``delivered``, or ``cancelled`` before it ships.
    """

    PENDING = "pending"
    CONFIRMED = "confirmed"
    PAYMENT_FAILED = "payment_failed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    def can_become(self, target: OrderStatus) -> bool:
        """Whether the transition table allows ``self -> target``."""
        return target in TRANSITIONS[self]

    @property
    def counts_as_sale(self) -> bool:
        """Paid and not cancelled: confirmed, shipped or delivered (what revenue, top
        sellers and the reviews' purchase gate count)."""
        return self in SOLD_STATUSES


#: The order state machine: every allowed ``from -> to``. Anything else is
#: ``ORDER_INVALID_TRANSITION``.
TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.PAYMENT_FAILED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.PAYMENT_FAILED: frozenset(),
}

#: The statuses of a sale (paid, not cancelled).
SOLD_STATUSES: Final = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
)


def _cart_lines(lines: Iterable[CartLine]) -> tuple[CartLine, ...]:
    return tuple(lines)


def _order_lines(lines: Iterable[OrderLine]) -> tuple[OrderLine, ...]:
    return tuple(lines)


def _new_lines(lines: Iterable[NewOrderLine]) -> tuple[NewOrderLine, ...]:
    return tuple(lines)


@frozen
class BookSummary:
    """A book as a cart line, order line or wishlist entry shows it: as it is now."""

    id: int
    title: str
    author: str
    price: Decimal
    cover_image_url: str | None
    stock_quantity: int


@frozen
class CartLine:
    """One line of a user's cart, with its book as it is now.

    Attributes:
        id: The store's id of the line.
        user_id: Whose cart.
        book_id: The book (one line per book).
        quantity: How many copies (>= 1).
        added_at: When the line was added.
        book: The book now (current price and stock).
        held_by: The pending order whose payment holds this line, while a checkout is paying
            (``None`` otherwise).
    """

    id: int
    user_id: int
    book_id: int
    quantity: int
    added_at: datetime
    book: BookSummary
    held_by: int | None = None

    @property
    def line_total(self) -> Decimal:
        """Quantity x the book's current price."""
        return self.book.price * self.quantity

    @property
    def available(self) -> bool:
        """Whether the book's stock covers the quantity right now."""
        return self.quantity <= self.book.stock_quantity


@frozen
class Cart:
    """A user's cart: its lines by book id, with totals at current prices."""

    user_id: int
    lines: tuple[CartLine, ...] = field(converter=_cart_lines)

    @property
    def total_items(self) -> int:
        """The number of copies across lines."""
        return sum(line.quantity for line in self.lines)

    @property
    def total_price(self) -> Decimal:
        """The sum of the line totals at current prices."""
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def available(self) -> bool:
        """Whether every line's stock covers its quantity right now."""
        return all(line.available for line in self.lines)


def cart_fingerprint(lines: Iterable[tuple[int, int]]) -> str:
    """A stable digest of a cart's ``(book_id, quantity)`` pairs: what an idempotency key
    is bound to (the same key with a different cart is refused)."""
    canonical = ",".join(f"{book}x{quantity}" for book, quantity in sorted(lines))
    return hashlib.sha256(canonical.encode()).hexdigest()


@frozen
class ShortLine:
    """A cart line the stock cannot cover (one entry of ``ORDER_INSUFFICIENT_STOCK``)."""

    book_id: int
    title: str
    requested: int
    available: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "book_id": self.book_id,
            "title": self.title,
            "requested": self.requested,
            "available": self.available,
        }


@frozen
class OrderLine:
    """One line of an order, as bought.

    Attributes:
        id: The store's id of the line.
        book_id: The book (``None`` once the book is deleted from the catalog).
        title: The title at purchase.
        author: The author at purchase.
        quantity: Copies bought.
        unit_price: The price at purchase.
        book: The book as it is now (``None`` once deleted).
    """

    id: int
    book_id: int | None
    title: str
    author: str
    quantity: int
    unit_price: Decimal
    book: BookSummary | None = None

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@frozen
class Order:
    """An order (or a recorded failed attempt), with its lines as bought.

    Attributes:
        id: The store's id.
        user_id: The buyer.
        status: See :class:`OrderStatus`.
        created_at: When checkout reserved its stock.
        updated_at: When its status last changed.
        items: The lines, by book id at purchase.
        total: The sum of quantity x unit price at purchase.
        idempotency_key: The checkout's key, when the client gave one.
        cart_fingerprint: The digest of the cart it was checked out from.
        payment_reference: The gateway's reference of the approved payment.
        failure_reason: Why the payment failed (``payment_failed`` only).
    """

    id: int
    user_id: int
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    items: tuple[OrderLine, ...] = field(converter=_order_lines)
    total: Decimal
    idempotency_key: str | None = None
    cart_fingerprint: str | None = None
    payment_reference: str | None = None
    failure_reason: str | None = None


@frozen
class NewOrderLine:
    """A line of an order about to be written (from a cart line, priced now)."""

    book_id: int
    title: str
    author: str
    quantity: int
    unit_price: Decimal


@frozen
class NewOrder:
    """A pending order about to be written by checkout."""

    user_id: int
    lines: tuple[NewOrderLine, ...] = field(converter=_new_lines)
    created_at: datetime
    idempotency_key: str | None
    cart_fingerprint: str

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))


@frozen
class OrderQuery:
    """Which orders to list (AND-combined; ``None`` means any): newest first, then id."""

    user_id: int | None = None
    status: OrderStatus | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


@frozen
class WishlistItem:
    """A book on a user's wishlist, shown as it is now."""

    id: int
    user_id: int
    book_id: int
    added_at: datetime
    book: BookSummary
