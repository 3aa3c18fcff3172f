"""The pre-booking context's values: a user's wish to hear when an out-of-stock book is back."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

__all__ = ["PreBooking", "PreBookingStatus"]


class PreBookingStatus(enum.StrEnum):
    """Where a pre-booking is in its life: ``waiting`` until the book is restocked (then
    ``notified``, once) or its owner cancels it (``cancelled``)."""

    WAITING = "waiting"
    NOTIFIED = "notified"
    CANCELLED = "cancelled"


@frozen
class PreBooking:
    """A user's pre-booking of one book.

    Attributes:
        id: The store's id.
        user_id: Who pre-booked.
        book_id: The book, out of stock when it was pre-booked.
        status: waiting, notified or cancelled.
        created_at: When it was made.
        notified_at: When the restock notified its owner (``None`` until then).
        cancelled_at: When its owner cancelled it (``None`` unless cancelled).
        book_title: The book's title as it is now (for the wire).
        book_author: The book's author as it is now.
    """

    id: int
    user_id: int
    book_id: int
    status: PreBookingStatus
    created_at: datetime
    notified_at: datetime | None
    cancelled_at: datetime | None
    book_title: str
    book_author: str

    @property
    def is_waiting(self) -> bool:
        return self.status is PreBookingStatus.WAITING
