"""Every error code of the reviews context, declared once (see :mod:`bookshop_core.errors`).

An unknown book is the catalog's ``BOOK_NOT_FOUND``
(:class:`~bookshop_core.catalog.errors.BookNotFound`).
"""

from __future__ import annotations

from bookshop_core.errors import Conflict, NotFound, PermissionDenied

__all__ = ["DuplicateReview", "NotPurchased", "NotReviewOwner", "ReviewNotFound"]


class DuplicateReview(Conflict):
    """The user already has a live review of the book (``details['existing_review_id']``):
    change that one instead. A deleted review does not count."""

    code = "DUPLICATE_REVIEW"
    default_message = "You have already reviewed this book"

    @classmethod
    def of(cls, existing_review_id: int) -> DuplicateReview:
        """The error naming the review that is already there."""
        return cls(details={"existing_review_id": existing_review_id})


class NotPurchased(PermissionDenied):
    """Only a buyer may review: the caller has no confirmed, shipped or delivered order
    containing the book."""

    code = "NOT_PURCHASED"
    default_message = "Only customers who bought this book can review it"
    default_field = "book_id"


class NotReviewOwner(PermissionDenied):
    """The review is another user's (only its author changes it; an admin may delete it)."""

    code = "NOT_REVIEW_OWNER"
    default_message = "This review is not yours"


class ReviewNotFound(NotFound):
    """No live review with that id (a deleted one is not found either)."""

    code = "REVIEW_NOT_FOUND"
    default_message = "Review not found"
    default_field = "review_id"
