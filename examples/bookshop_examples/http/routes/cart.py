"""The cart, for signed-in users: view it, add a book, change a line's quantity, remove a line.

Every route acts on the caller's own cart (the user comes from the token). A line id of
another user's cart is 403 ``CART_ITEM_FORBIDDEN`` and changes nothing. Prices, line totals
and availability are the books' as they are now (a price or stock change since adding shows).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import unstructure
from bookshop_core.catalog.commands import MAX_STOCK
from bookshop_core.commerce import AddToCart, Cart, CartLine, SetQuantity
from bookshop_core.kernel.ids import MAX_ID
from bookshop_examples.http.deps import (
    USER_AUTH_CODES,
    JsonObject,
    ShopDep,
    UserDep,
    json_body,
    located_in,
    structure_input,
)
from bookshop_examples.http.errors import error_responses
from bookshop_examples.http.wire import BookSummaryOut, Money, book_summary_wire

__all__ = ["AddToCartIn", "CartItemOut", "CartOut", "SetQuantityIn", "cart_line_wire", "router"]

router = APIRouter(tags=["cart"])

# -- wire models ------------------------------------------------------------------------------


class AddToCartIn(BaseModel):
    """The book to add and how many copies (1 to its stock)."""

    model_config = ConfigDict(extra="forbid")

    book_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(default=1, ge=1, le=MAX_STOCK)


class SetQuantityIn(BaseModel):
    """The line's new quantity (1 to the book's stock)."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=MAX_STOCK)


class CartItemOut(BaseModel):
    """One line of the cart (one per book)."""

    id: int
    book_id: int
    quantity: int
    book: BookSummaryOut
    line_total: Money = Field(description="quantity x the book's current price.")
    available: bool = Field(description="Whether the book's stock covers the quantity now.")


class CartOut(BaseModel):
    """The caller's cart, oldest line first."""

    items: list[CartItemOut]
    total_items: int = Field(description="Copies across lines.")
    total_price: Money = Field(description="The sum of the line totals at current prices.")


ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="The cart line's id.")]


def cart_line_wire(line: CartLine) -> dict[str, Any]:
    """A cart line as the API shows it."""
    return {
        "id": line.id,
        "book_id": line.book_id,
        "quantity": line.quantity,
        "book": book_summary_wire(line.book),
        "line_total": unstructure(line.line_total),
        "available": line.available,
    }


def _cart_wire(cart: Cart) -> dict[str, Any]:
    return {
        "items": [cart_line_wire(line) for line in cart.lines],
        "total_items": cart.total_items,
        "total_price": unstructure(cart.total_price),
    }


# -- routes -----------------------------------------------------------------------------------

_STOCK_CODES = ("CART_BOOK_OUT_OF_STOCK", "CART_INSUFFICIENT_STOCK")


@router.get(
    "/cart",
    response_model=CartOut,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="My cart",
)
async def view_cart(shop: ShopDep, principal: UserDep) -> Any:
    """The caller's cart with current prices, line totals and each line's availability."""
    return _cart_wire(await shop.cart.view(principal))


@router.post(
    "/cart/items",
    status_code=HTTPStatus.CREATED,
    response_model=CartItemOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "BOOK_NOT_FOUND", "CART_ITEM_DUPLICATE", *_STOCK_CODES],
    ),
    summary="Add a book to my cart",
)
async def add_item(
    shop: ShopDep, principal: UserDep, body: Annotated[JsonObject, json_body(AddToCartIn)]
) -> Any:
    """Add ``quantity`` copies (default 1) of a book in stock. A book already in the cart is
    409 ``CART_ITEM_DUPLICATE``: change that line's quantity instead."""
    command = structure_input(body, AddToCart, source="body")
    with located_in("body"):
        line = await shop.cart.add(principal, command)
    return cart_line_wire(line)


@router.put(
    "/cart/items/{item_id}",
    response_model=CartItemOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "CART_ITEM_FORBIDDEN", "CART_ITEM_NOT_FOUND", *_STOCK_CODES],
    ),
    summary="Change a cart line's quantity",
)
async def set_quantity(
    shop: ShopDep,
    principal: UserDep,
    item_id: ItemId,
    body: Annotated[JsonObject, json_body(SetQuantityIn)],
) -> Any:
    """Set the quantity of one of the caller's lines (1 to the book's stock)."""
    command = structure_input(body, SetQuantity, source="body")
    return cart_line_wire(await shop.cart.set_quantity(principal, item_id, command))


@router.delete(
    "/cart/items/{item_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(
        401,
        403,
        404,
        422,
        codes=[*USER_AUTH_CODES, "CART_ITEM_FORBIDDEN", "CART_ITEM_NOT_FOUND"],
    ),
    summary="Remove a cart line",
)
async def remove_item(shop: ShopDep, principal: UserDep, item_id: ItemId) -> None:
    """Remove one of the caller's lines."""
    await shop.cart.remove(principal, item_id)
