"""Every error code of the pre-booking context, declared once (see :mod:`bookshop_core.errors`).

An unknown book is the catalog's ``BOOK_NOT_FOUND``
(:class:`~bookshop_core.catalog.errors.BookNotFound`).
"""

from __future__ import annotations

from bookshop_core.errors import Conflict, NotFound

__all__ = [
    "PrebookAlreadyCancelled",
    "PrebookBookInStock",
    "PrebookDuplicate",
    "PrebookNotFound",
]


class PrebookBookInStock(Conflict):
    """The book is in stock: order it instead (pre-booking is only for a stock of 0)."""

    code = "PREBOOK_BOOK_IN_STOCK"
    default_message = "The book is in stock; pre-booking is only for books out of stock"
    default_field = "book_id"


class PrebookDuplicate(Conflict):
    """The user already has a waiting pre-booking of this book."""

    code = "PREBOOK_DUPLICATE"
    default_message = "You have already pre-booked this book"
    default_field = "book_id"


class PrebookNotFound(NotFound):
    """No pre-booking with that id among the caller's own (another user's is not found
    either, so that ids reveal nothing)."""

    code = "PREBOOK_NOT_FOUND"
    default_message = "Pre-booking not found"
    default_field = "prebooking_id"


class PrebookAlreadyCancelled(Conflict):
    """The pre-booking is cancelled already."""

    code = "PREBOOK_ALREADY_CANCELLED"
    default_message = "The pre-booking is already cancelled"
    default_field = "prebooking_id"
