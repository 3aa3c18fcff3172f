"""Every error code of the commerce context (cart, checkout, orders, wishlist), declared once
(see :mod:`bookshop_core.errors`).

An unknown book is the catalog's ``BOOK_NOT_FOUND``
(:class:`~bookshop_core.catalog.errors.BookNotFound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from bookshop_core.commerce.entities import ShortLine
from bookshop_core.errors import BadRequest, Conflict, NotFound, PermissionDenied

__all__ = [
    "CartBookOutOfStock",
    "CartInsufficientStock",
    "CartItemDuplicate",
    "CartItemForbidden",
    "CartItemNotFound",
    "OrderCartEmpty",
    "OrderCheckoutInProgress",
    "OrderIdempotencyKeyReused",
    "OrderInsufficientStock",
    "OrderInvalidTransition",
    "OrderNotFound",
    "OrderPaymentFailed",
    "WishlistItemDuplicate",
    "WishlistItemNotFound",
]


class CartItemDuplicate(Conflict):
    """The book is in the cart already: change that line's quantity instead."""

    code = "CART_ITEM_DUPLICATE"
    default_message = "The book is already in your cart; change its quantity instead"
    default_field = "book_id"


class CartBookOutOfStock(Conflict):
    """The book's stock is 0 (pre-book it instead)."""

    code = "CART_BOOK_OUT_OF_STOCK"
    default_message = "The book is out of stock"
    default_field = "book_id"


class CartInsufficientStock(Conflict):
    """The quantity asked for is above the book's stock (``details['available']``)."""

    code = "CART_INSUFFICIENT_STOCK"
    default_message = "Not enough stock for that quantity"
    default_field = "quantity"


class CartItemNotFound(NotFound):
    """No cart line with that id."""

    code = "CART_ITEM_NOT_FOUND"
    default_message = "Cart item not found"
    default_field = "item_id"


class CartItemForbidden(PermissionDenied):
    """The cart line is another user's."""

    code = "CART_ITEM_FORBIDDEN"
    default_message = "This cart item is not yours"
    default_field = "item_id"


class OrderCartEmpty(BadRequest):
    """Checkout of an empty cart."""

    code = "ORDER_CART_EMPTY"
    default_message = "Your cart is empty"
    http_status: ClassVar[int] = 422


class OrderInsufficientStock(Conflict):
    """Some lines ask for more than the stock; ``details['items']`` lists each short line
    (``book_id``, ``title``, ``requested``, ``available``). Nothing was bought."""

    code = "ORDER_INSUFFICIENT_STOCK"
    default_message = "Not enough stock for some items in your cart"

    def __init__(self, short: Sequence[ShortLine]) -> None:
        super().__init__(details={"items": [line.to_dict() for line in short]})
        self.short = tuple(short)


class OrderPaymentFailed(Conflict):
    """The payment gateway declined (or failed): the attempt is recorded as a
    ``payment_failed`` order (``details['order_id']``); stock and cart are as they were."""

    code = "ORDER_PAYMENT_FAILED"
    default_message = "The payment was declined"
    http_status: ClassVar[int] = 402

    def __init__(self, message: str | None = None, *, order_id: int) -> None:
        super().__init__(message, details={"order_id": order_id})
        self.order_id = order_id


class OrderIdempotencyKeyReused(Conflict):
    """The idempotency key was used for a checkout of a different cart."""

    code = "ORDER_IDEMPOTENCY_KEY_REUSED"
    default_message = "This idempotency key was already used for a different cart"
    default_field = "idempotency_key"


class OrderCheckoutInProgress(Conflict):
    """Another checkout of this cart (another tab, a retry without a key) is paying right
    now; retry in a moment."""

    code = "ORDER_CHECKOUT_IN_PROGRESS"
    default_message = "A checkout of your cart is in progress; try again in a moment"


class OrderNotFound(NotFound):
    """No order with that id among those the caller may see (another user's is not found
    either, so that ids reveal nothing)."""

    code = "ORDER_NOT_FOUND"
    default_message = "Order not found"
    default_field = "order_id"


class OrderInvalidTransition(Conflict):
    """The order's status does not allow that change (see ``OrderStatus.can_become``)."""

    code = "ORDER_INVALID_TRANSITION"
    default_message = "The order cannot change to that status"
    default_field = "status"


class WishlistItemDuplicate(Conflict):
    """The book is on the wishlist already."""

    code = "WISHLIST_ITEM_DUPLICATE"
    default_message = "The book is already on your wishlist"
    default_field = "book_id"


class WishlistItemNotFound(NotFound):
    """The book is not on the caller's wishlist."""

    code = "WISHLIST_ITEM_NOT_FOUND"
    default_message = "The book is not on your wishlist"
    default_field = "book_id"
