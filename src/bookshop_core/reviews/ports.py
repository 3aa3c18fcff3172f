"""The reviews context's repository port and the unit of work that carries it.

Every backend passes the reviews contract (``bookshop_adapters.testing.contract``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.uow import UnitOfWork
from bookshop_core.kernel.validation import UNSET, Unset
from bookshop_core.reviews.entities import NewReview, Review, ReviewQuery

__all__ = ["ReviewRepository", "ReviewUnitOfWork"]


class ReviewRepository(Protocol):
    """Stores reviews, at most one live (not deleted) review per user and book, and keeps
    each book's ``review_count`` and ``rating_sum`` equal to its live reviews' count and
    rating sum, in the same transaction as every write (race-safe: counters move by relative
    updates, never by a value read earlier).

    Every read returns live reviews only, each with ``verified_purchase`` and its author's
    display name read with it (a page of any size is a bounded number of statements).
    """

    async def has_purchased(self, user_id: int, book_id: int) -> bool:
        """Whether the user has an order in a sale status (confirmed, shipped, delivered)
        with a line of this book (one statement)."""
        ...

    async def add(self, review: NewReview) -> Review | None:
        """Store a live review and count it in its book's rating, atomically with respect to
        other reviews of the book: two concurrent first reviews by one user leave one.

        Returns:
            The review, or ``None`` when the book does not exist.

        Raises:
            Conflict: ``DUPLICATE_REVIEW`` (with ``existing_review_id``) when the user
                already has a live review of the book.
        """
        ...

    async def get(self, review_id: int) -> Review | None:
        """The live review with this id (``None`` when missing or deleted)."""
        ...

    async def update(
        self,
        review_id: int,
        *,
        rating: int | Unset = UNSET,
        text: str | Unset | None = UNSET,
        now: datetime,
    ) -> Review | None:
        """Write only the given fields of a live review (``updated_at`` = ``now``) and move
        its book's rating sum by the rating's difference, read under the review's row lock
        (so concurrent changes of one review keep the sum exact).

        Returns:
            The review as stored, or ``None`` when it is missing or deleted.
        """
        ...

    async def delete(self, review_id: int, *, now: datetime) -> bool:
        """Soft-delete a live review and uncount it from its book (one conditional write and
        one counter update).

        Returns:
            Whether it was live (a second delete, or a concurrent one, returns ``False``).
        """
        ...

    async def delete_many(self, review_ids: Sequence[int], *, now: datetime) -> int:
        """Soft-delete every live review among ``review_ids`` in one statement (missing and
        already deleted ids are skipped) and uncount them from their books in one more.

        Returns:
            How many were deleted.
        """
        ...

    async def list_for_book(self, book_id: int, page: PageRequest) -> Page[Review]:
        """A book's live reviews, newest first (``created_at``, then id, descending), with
        the exact total."""
        ...

    async def list(self, query: ReviewQuery, page: PageRequest) -> Page[Review]:
        """Live reviews matching ``query`` (filters AND-combined) in its order, with the
        exact total (moderation)."""
        ...


class ReviewUnitOfWork(UnitOfWork, Protocol):
    """What the reviews use cases need: ``reviews``."""

    @property
    def reviews(self) -> ReviewRepository: ...
