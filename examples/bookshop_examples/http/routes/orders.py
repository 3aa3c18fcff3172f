"""Checkout and orders, for signed-in users: buy the cart, list, read and cancel one's orders.

Checkout buys every line of the caller's cart or nothing. An ``Idempotency-Key`` header makes
a retry (a timeout, a double click) answer the order the first attempt made instead of buying
again. Every other route acts on the caller's own orders: another user's is 404
``ORDER_NOT_FOUND``, like one that does not exist.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import unstructure
from bookshop_core.commerce import (
    IDEMPOTENCY_KEY_MAX,
    Checkout,
    ListOrders,
    Order,
    OrderLine,
    OrderStatus,
)
from bookshop_core.errors import FieldError, ValidationError
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.kernel.pagination import Page
from bookshop_examples.http.deps import (
    USER_AUTH_CODES,
    JsonObject,
    PageNumber,
    PageSize,
    ShopDep,
    UserDep,
    json_body,
    structure_input,
    structure_query,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import BookSummaryOut, Money, Timestamp, book_summary_wire

__all__ = [
    "LIST_RESPONSE",
    "STATUS_VALUES",
    "TOTAL_HEADER",
    "CheckoutIn",
    "OrderId",
    "OrderItemOut",
    "OrderOut",
    "order_list",
    "order_wire",
    "router",
]

router = APIRouter(tags=["orders"])

# -- wire models ------------------------------------------------------------------------------

StatusName = Literal["confirmed", "payment_failed", "shipped", "delivered", "cancelled"]
#: The statuses an order can be listed with (``pending`` is internal, never shown).
STATUS_VALUES = [s.value for s in OrderStatus if s is not OrderStatus.PENDING]


class CheckoutIn(BaseModel):
    """Optional: ``{}`` or no body buys the cart."""

    model_config = ConfigDict(extra="forbid")

    force_payment_failure: bool = Field(
        default=False, description="Ask the demo payment gateway to decline (for trying out)."
    )


class OrderItemOut(BaseModel):
    """One line of an order, as bought."""

    id: int
    book_id: int | None = Field(description="null once the book is deleted from the catalog.")
    quantity: int
    unit_price: Money = Field(description="The price at purchase.")
    title: str = Field(description="The title at purchase (kept when the book is gone).")
    book: BookSummaryOut | None = Field(
        description="The book now (its current price; unit_price is the price paid); null "
        "once deleted."
    )


class OrderOut(BaseModel):
    """An order, or a recorded failed payment attempt (``payment_failed``)."""

    id: int
    status: StatusName
    created_at: Timestamp
    items: list[OrderItemOut]
    total_price: Money = Field(description="The sum of quantity x unit price at purchase.")
    user_id: int


OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's id.")]

#: The header of the total across pages of an order list.
TOTAL_HEADER = "X-Total-Count"


def _line_wire(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "book_id": line.book_id,
        "quantity": line.quantity,
        "unit_price": unstructure(line.unit_price),
        "title": line.title,
        "book": None if line.book is None else book_summary_wire(line.book),
    }


def order_wire(order: Order) -> dict[str, Any]:
    """An order as the API shows it (its key, fingerprint and payment details stay inside)."""
    return {
        "id": order.id,
        "status": order.status.value,
        "created_at": unstructure(order.created_at),
        "items": [_line_wire(line) for line in order.items],
        "total_price": unstructure(order.total),
        "user_id": order.user_id,
    }


def order_list(page: Page[Order], response: Response) -> list[dict[str, Any]]:
    """A page of orders as the API lists them: a bare array, the total in ``X-Total-Count``."""
    response.headers[TOTAL_HEADER] = str(page.total)
    return [order_wire(order) for order in page.items]


#: The ``responses=`` entry of a list route's 200: the total header, documented.
LIST_RESPONSE: dict[int | str, Any] = {
    200: {
        "headers": {
            TOTAL_HEADER: {
                "description": "How many orders match, across pages.",
                "schema": {"type": "integer"},
            }
        }
    }
}


def _checkout_command(body: JsonObject | None, key: str | None) -> Checkout:
    """The checkout command: ``force_payment_failure`` from the body (any other body field is
    ignored, never applied), the idempotency key from the header."""
    given = {} if body is None else body
    options = {k: given[k] for k in ("force_payment_failure",) if k in given}
    command = structure_input(options, Checkout, source="body")
    if key is None:
        return command
    try:
        return Checkout(idempotency_key=key, force_payment_failure=command.force_payment_failure)
    except ValidationError as exc:  # locate it where the client put it: the header
        errors = [FieldError(("header", "Idempotency-Key"), e.msg, e.type) for e in exc.errors]
        raise ValidationError(errors) from None


# -- routes -----------------------------------------------------------------------------------


@router.post(
    "/orders/checkout",
    status_code=HTTPStatus.CREATED,
    response_model=OrderOut,
    responses=error_responses(
        401,
        402,
        403,
        409,
        422,
        codes=[
            *USER_AUTH_CODES,
            "ORDER_PAYMENT_FAILED",
            "ORDER_INSUFFICIENT_STOCK",
            "ORDER_IDEMPOTENCY_KEY_REUSED",
            "ORDER_CHECKOUT_IN_PROGRESS",
            "ORDER_CART_EMPTY",
        ],
    ),
    summary="Buy my cart",
)
async def checkout(
    shop: ShopDep,
    principal: UserDep,
    body: Annotated[JsonObject | None, json_body(CheckoutIn)] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes a retry answer the order the first attempt made instead of "
            f"buying again (1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, scoped to "
            "the caller). The same key with a different cart is 409 "
            "ORDER_IDEMPOTENCY_KEY_REUSED.",
        ),
    ] = None,
) -> Any:
    """Buy every line of the cart, or nothing: 201 the confirmed order, the cart emptied, a
    confirmation email queued. Short stock is 409 ``ORDER_INSUFFICIENT_STOCK`` listing each
    short line in ``items`` (``book_id``, ``title``, ``requested``, ``available``); a declined
    payment is 402 ``ORDER_PAYMENT_FAILED`` (with the recorded attempt's ``order_id``). Either
    way the cart and the stock are as they were."""
    command = _checkout_command(body, idempotency_key)
    return order_wire(await shop.orders.checkout(principal, command))


@router.get(
    "/orders",
    response_model=list[OrderOut],
    responses={
        **LIST_RESPONSE,
        **error_responses(401, 403, 422, codes=USER_AUTH_CODES),
    },
    summary="My orders",
)
async def list_orders(
    shop: ShopDep,
    principal: UserDep,
    response: Response,
    page: PageNumber = None,
    size: PageSize = None,
) -> Any:
    """The caller's orders (and failed payment attempts), newest first; the total across
    pages is in ``X-Total-Count``."""
    query = structure_query(ListOrders, page=page, size=size)
    return order_list(await shop.orders.list_mine(principal, query), response)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses=error_responses(401, 403, 404, 422, codes=[*USER_AUTH_CODES, "ORDER_NOT_FOUND"]),
    summary="One of my orders",
)
async def get_order(shop: ShopDep, principal: UserDep, order_id: OrderId) -> Any:
    """One of the caller's orders; another user's is 404 ``ORDER_NOT_FOUND``."""
    return order_wire(await shop.orders.get_mine(principal, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "ORDER_NOT_FOUND", "ORDER_INVALID_TRANSITION"],
    ),
    summary="Cancel one of my orders",
)
async def cancel_order(shop: ShopDep, principal: UserDep, order_id: OrderId) -> Any:
    """Cancel one of the caller's confirmed orders; its stock goes back. Any other status is
    409 ``ORDER_INVALID_TRANSITION``."""
    return order_wire(await shop.orders.cancel_mine(principal, order_id))
