"""Pre-bookings, for signed-in users: pre-book an out-of-stock book, list and cancel one's own.

A pre-booking waits until the book's stock goes from 0 to above 0 (``PATCH
/books/{id}/stock``); that restock marks it ``notified`` and queues one back-in-stock email to
its owner. Every route acts on the caller's own pre-bookings (the user comes from the token):
another user's is ``PREBOOK_NOT_FOUND``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from attrs import frozen
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from bookshop_core import unstructure
from bookshop_core.kernel.ids import MAX_ID
from bookshop_core.prebooking import PreBooking
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
from bookshop_examples.http.wire import Timestamp

__all__ = ["PreBookIn", "PreBookingListOut", "PreBookingOut", "router"]

router = APIRouter(tags=["pre-bookings"])

# -- wire models ------------------------------------------------------------------------------


class PreBookIn(BaseModel):
    """The book to pre-book (out of stock)."""

    model_config = ConfigDict(extra="forbid")

    book_id: int = Field(ge=1, le=MAX_ID)


class PreBookingOut(BaseModel):
    """A pre-booking, with the book's title and author as they are now."""

    id: int
    book_id: int
    book_title: str
    book_author: str
    status: Literal["waiting", "notified", "cancelled"]
    created_at: Timestamp
    notified_at: Timestamp | None = Field(description="When the restock emailed its owner.")
    cancelled_at: Timestamp | None


class PreBookingListOut(BaseModel):
    """The caller's pre-bookings, every status, newest first."""

    items: list[PreBookingOut]


@frozen
class _PreBook:
    """The request body as the route reads it (``book_id`` checked by the use case)."""

    book_id: int


PreBookingId = Annotated[int, Path(ge=1, le=MAX_ID, description="The pre-booking's id.")]

_WIRE_FIELDS = (
    "id",
    "book_id",
    "book_title",
    "book_author",
    "status",
    "created_at",
    "notified_at",
    "cancelled_at",
)


def _wire(prebooking: PreBooking) -> dict[str, Any]:
    """The pre-booking as the API shows it (its owner's id is the caller's: not repeated)."""
    data = unstructure(prebooking)
    return {name: data[name] for name in _WIRE_FIELDS}


# -- routes -----------------------------------------------------------------------------------


@router.post(
    "/prebooks",
    status_code=HTTPStatus.CREATED,
    response_model=PreBookingOut,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "BOOK_NOT_FOUND", "PREBOOK_BOOK_IN_STOCK", "PREBOOK_DUPLICATE"],
    ),
    summary="Pre-book an out-of-stock book",
)
async def prebook(
    shop: ShopDep, principal: UserDep, body: Annotated[JsonObject, json_body(PreBookIn)]
) -> Any:
    """Pre-book a book whose stock is 0, to get one email when it is back in stock. At most
    one waiting pre-booking per book."""
    command = structure_input(body, _PreBook, source="body")
    with located_in("body"):
        created = await shop.prebookings.prebook(principal, command.book_id)
    return _wire(created)


@router.get(
    "/prebooks",
    response_model=PreBookingListOut,
    responses=error_responses(401, 403, codes=USER_AUTH_CODES),
    summary="My pre-bookings",
)
async def list_prebooks(shop: ShopDep, principal: UserDep) -> Any:
    """The caller's pre-bookings, every status (waiting, notified, cancelled), newest
    first."""
    return {"items": [_wire(p) for p in await shop.prebookings.list_mine(principal)]}


@router.delete(
    "/prebooks/{prebooking_id}",
    status_code=HTTPStatus.NO_CONTENT,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        codes=[*USER_AUTH_CODES, "PREBOOK_NOT_FOUND", "PREBOOK_ALREADY_CANCELLED"],
    ),
    summary="Cancel a pre-booking",
)
async def cancel_prebook(shop: ShopDep, principal: UserDep, prebooking_id: PreBookingId) -> None:
    """Cancel one of the caller's pre-bookings (it stays listed, as cancelled)."""
    await shop.prebookings.cancel(principal, prebooking_id)
