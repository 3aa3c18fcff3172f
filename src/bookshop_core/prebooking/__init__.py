"""The pre-booking context: users pre-book out-of-stock books and get one email when a book
is back in stock (queued through the notifications outbox in the restocking transaction)."""

from bookshop_core.prebooking.entities import PreBooking, PreBookingStatus
from bookshop_core.prebooking.errors import (
    PrebookAlreadyCancelled,
    PrebookBookInStock,
    PrebookDuplicate,
    PrebookNotFound,
)
from bookshop_core.prebooking.ports import PreBookingRepository, PreBookingUnitOfWork
from bookshop_core.prebooking.use_cases import PreBookings, PreBookingShopUnitOfWork

__all__ = [
    "PreBooking",
    "PreBookingRepository",
    "PreBookingShopUnitOfWork",
    "PreBookingStatus",
    "PreBookingUnitOfWork",
    "PreBookings",
    "PrebookAlreadyCancelled",
    "PrebookBookInStock",
    "PrebookDuplicate",
    "PrebookNotFound",
]
