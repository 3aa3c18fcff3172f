"""The reviews context's values: a user's rating and text about a book they bought, and what
moderation filters and sorts them by."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

from bookshop_core.catalog.entities import SortDirection
from bookshop_core.identity.entities import default_display_name

__all__ = [
    "NewReview",
    "Review",
    "ReviewAuthor",
    "ReviewQuery",
    "ReviewSort",
    "ReviewedBook",
    "default_display_name",
]


@frozen
class ReviewAuthor:
    """Who wrote a review, as readers see them: a display name, never an email.

    Attributes:
        user_id: The author's account.
        display_name: The account's display name, or ``"Reader #<id>"`` without one.
        avatar_url: The author's picture (accounts have none yet: always ``None``).
    """

    user_id: int
    display_name: str
    avatar_url: str | None = None


@frozen
class ReviewedBook:
    """The book a review is about, as it is now."""

    book_id: int
    title: str
    cover_image_url: str | None = None


@frozen
class Review:
    """A review of a book by a user who bought it.

    Attributes:
        id: The store's id.
        book_id: The book reviewed.
        user_id: The author.
        rating: 1 to 5.
        text: Up to 2000 characters, or ``None``.
        verified_purchase: Whether the author has a confirmed, shipped or delivered order
            containing the book right now (read with the review; a later cancellation turns
            it off).
        created_at: When it was written.
        updated_at: When it last changed (``created_at`` until then).
        author: The author's public face.
        book: The book as it is now.
    """

    id: int
    book_id: int
    user_id: int
    rating: int
    text: str | None
    verified_purchase: bool
    created_at: datetime
    updated_at: datetime
    author: ReviewAuthor
    book: ReviewedBook


@frozen
class NewReview:
    """A review as it is first written; the store assigns its id."""

    user_id: int
    book_id: int
    rating: int
    text: str | None
    created_at: datetime


class ReviewSort(enum.StrEnum):
    """Moderation's sort keys: ``date`` (``created_at``) or ``rating``; ties by id."""

    DATE = "date"
    RATING = "rating"


@frozen
class ReviewQuery:
    """Which live reviews moderation lists (filters AND-combined; ``None`` means any) and in
    which order: the sort key in ``direction``, then id in the same direction.

    ``rating_min``/``rating_max`` are inclusive.
    """

    book_id: int | None = None
    user_id: int | None = None
    rating_min: int | None = None
    rating_max: int | None = None
    sort: ReviewSort = ReviewSort.DATE
    direction: SortDirection = SortDirection.DESC

    def matches(self, review: Review) -> bool:
        """Whether ``review`` passes every filter (the reference the backends follow)."""
        return (
            (self.book_id is None or review.book_id == self.book_id)
            and (self.user_id is None or review.user_id == self.user_id)
            and (self.rating_min is None or review.rating >= self.rating_min)
            and (self.rating_max is None or review.rating <= self.rating_max)
        )
