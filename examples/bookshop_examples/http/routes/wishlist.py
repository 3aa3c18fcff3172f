"""The wishlist, for signed-in users: add a book, list, remove a book.

Every route acts on the caller's own wishlist (the user comes from the token). Books are
shown as they are now: current price and stock. Removal is by the book's id.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from attrs import frozen
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import unstructure
from bookshop_core.commerce import WishlistItem
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
from bookshop_examples.http.wire import BookSummaryOut, Timestamp, book_summary_wire

__all__ = ["WishlistAddIn", "WishlistItemOut", "WishlistOut", "router"]

router = APIRouter(tags=["wishlist"])

# -- wire models ------------------------------------------------------------------------------


class WishlistAddIn(BaseModel):
    """The book to put on the wishlist."""

    model_config = ConfigDict(extra="forbid")

    book_id: int = Field(ge=1, le=MAX_ID)


class WishlistBookOut(BookSummaryOut):
    """The book as it is now: current price and stock."""

    stock_quantity: int


class WishlistItemOut(BaseModel):
    """A book on the wishlist."""

    id: int
    book_id: int
    added_at: Timestamp
    book: WishlistBookOut


class WishlistOut(BaseModel):
    """The caller's wishlist, newest first."""

    items: list[WishlistItemOut]


@frozen
class _AddToWishlist:
    """The request body as the route reads it (``book_id`` checked by the use case)."""

    book_id: int


BookId = Annotated[int, Path(ge=1, le=MAX_ID, description="The book's id.")]


def _wire(item: WishlistItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "book_id": item.book_id,
        "added_at": unstructure(item.added_at),
        "book": {**book_summary_wire(item.book), "stock_quantity": item.book.stock_quantity},
    }


# -- routes -----------------------------------------------------------------------------------


@router.post(
    "/wishlist",
    status_code=HTTPStatus.CREATED,
    response_model=WishlistItemOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "BOOK_NOT_FOUND", "WISHLIST_ITEM_DUPLICATE"],
    ),
    summary="Put a book on my wishlist",
)
async def add_to_wishlist(
    shop: ShopDep, principal: UserDep, body: Annotated[JsonObject, json_body(WishlistAddIn)]
) -> Any:
    """Put a book on the caller's wishlist (in stock or not); a second time is 409
    ``WISHLIST_ITEM_DUPLICATE``."""
    command = structure_input(body, _AddToWishlist, source="body")
    with located_in("body"):
        item = await shop.wishlist.add(principal, command.book_id)
    return _wire(item)


@router.get(
    "/wishlist",
    response_model=WishlistOut,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="My wishlist",
)
async def list_wishlist(shop: ShopDep, principal: UserDep) -> Any:
    """The caller's wishlist with each book's current price and stock, newest first."""
    return {"items": [_wire(item) for item in await shop.wishlist.list_mine(principal)]}


@router.delete(
    "/wishlist/{book_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(
        401, 403, 404, 422, codes=[*USER_AUTH_CODES, "WISHLIST_ITEM_NOT_FOUND"]
    ),
    summary="Take a book off my wishlist",
)
async def remove_from_wishlist(shop: ShopDep, principal: UserDep, book_id: BookId) -> None:
    """Take the book ``book_id`` off the caller's wishlist; not on it: 404
    ``WISHLIST_ITEM_NOT_FOUND``."""
    await shop.wishlist.remove(principal, book_id)
