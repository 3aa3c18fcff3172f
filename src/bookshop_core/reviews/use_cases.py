"""Reviews use cases: buyers review books (one live review each), authors change and delete
their own, anyone reads them; admins moderate (filtered lists, bulk soft-delete)."""

from __future__ import annotations

from typing import Protocol

from bookshop_core.catalog.errors import BookNotFound
from bookshop_core.catalog.ports import CatalogUnitOfWork
from bookshop_core.kernel.clock import Clock, utc_clock
from bookshop_core.kernel.ids import check_id
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.principal import Principal, require_admin
from bookshop_core.kernel.uow import Transactions
from bookshop_core.reviews.commands import (
    BulkDeleteReviews,
    CreateReview,
    ModerateReviews,
    UpdateReview,
)
from bookshop_core.reviews.entities import NewReview, Review
from bookshop_core.reviews.errors import NotPurchased, NotReviewOwner, ReviewNotFound
from bookshop_core.reviews.ports import ReviewUnitOfWork

__all__ = ["ReviewShopUnitOfWork", "Reviews"]


class ReviewShopUnitOfWork(ReviewUnitOfWork, CatalogUnitOfWork, Protocol):
    """The reviews use cases' unit of work: ``reviews`` and the catalog's ``books`` (to tell
    an unknown book from one the caller did not buy)."""


def _not_found(review_id: int) -> ReviewNotFound:
    return ReviewNotFound(f"Review {review_id} not found")


class Reviews:
    """The reviews context's use cases.

    Args:
        transactions: Opens units of work on the shop's store.
        clock: The source of "now".
    """

    def __init__(self, transactions: Transactions[ReviewShopUnitOfWork], clock: Clock) -> None:
        self._tx = transactions
        self._clock = utc_clock(clock)

    async def create(self, principal: Principal, book_id: int, command: CreateReview) -> Review:
        """Review a book the caller bought.

        Args:
            principal: The author.
            book_id: The book.
            command: Rating and text.

        Returns:
            The new review (its book's ``avg_rating`` and ``review_count`` count it at once).

        Raises:
            ValidationError: a malformed ``book_id``.
            NotFound: ``BOOK_NOT_FOUND``.
            PermissionDenied: ``NOT_PURCHASED`` (field ``book_id``): no confirmed, shipped or
                delivered order of the caller contains the book.
            Conflict: ``DUPLICATE_REVIEW`` (``existing_review_id``): the caller has a live
                review of the book already, even one written concurrently.
        """
        check_id(book_id, "book_id")
        new = NewReview(
            user_id=principal.user_id,
            book_id=book_id,
            rating=command.rating,
            text=command.text,
            created_at=self._clock.now(),
        )
        async with self._tx.write() as tx:
            if await tx.uow.books.get(book_id) is None:
                raise BookNotFound(f"Book {book_id} not found")
            if not await tx.uow.reviews.has_purchased(principal.user_id, book_id):
                raise NotPurchased()
            review = await tx.uow.reviews.add(new)
            if review is None:  # the book was deleted since it was read
                raise BookNotFound(f"Book {book_id} not found")
            await tx.commit()
        return review

    async def get(self, review_id: int) -> Review:
        """A live review, for anyone.

        Raises:
            ValidationError: a malformed id.
            NotFound: ``REVIEW_NOT_FOUND`` (also a deleted one).
        """
        check_id(review_id, "review_id")
        async with self._tx.read() as uow:
            review = await uow.reviews.get(review_id)
        if review is None:
            raise _not_found(review_id)
        return review

    async def list_for_book(self, book_id: int, page: PageRequest | None = None) -> Page[Review]:
        """A book's live reviews, newest first, for anyone (an unknown book has none).

        Raises:
            ValidationError: a malformed ``book_id``.
        """
        check_id(book_id, "book_id")
        async with self._tx.read() as uow:
            return await uow.reviews.list_for_book(book_id, page or PageRequest())

    async def update(self, principal: Principal, review_id: int, command: UpdateReview) -> Review:
        """Change the caller's own review: only the given fields change (``text=None``
        clears the text). The book's rating follows a changed rating at once.

        Raises:
            ValidationError: a malformed id.
            NotFound: ``REVIEW_NOT_FOUND`` (also a deleted one).
            PermissionDenied: ``NOT_REVIEW_OWNER`` (admins too: they delete, never edit).
        """
        check_id(review_id, "review_id")
        async with self._tx.write() as tx:
            found = await tx.uow.reviews.get(review_id)
            if found is None:
                raise _not_found(review_id)
            if found.user_id != principal.user_id:
                raise NotReviewOwner()
            if command.is_empty:
                return found
            updated = await tx.uow.reviews.update(
                review_id, rating=command.rating, text=command.text, now=self._clock.now()
            )
            if updated is None:  # deleted concurrently
                raise _not_found(review_id)
            await tx.commit()
        return updated

    async def delete(self, principal: Principal, review_id: int) -> None:
        """Soft-delete a review: its author, or an admin. It no longer counts in its book's
        rating, and its author may review the book again.

        Raises:
            ValidationError: a malformed id.
            NotFound: ``REVIEW_NOT_FOUND`` (also one deleted already).
            PermissionDenied: ``NOT_REVIEW_OWNER``.
        """
        check_id(review_id, "review_id")
        async with self._tx.write() as tx:
            found = await tx.uow.reviews.get(review_id)
            if found is None:
                raise _not_found(review_id)
            if found.user_id != principal.user_id and not principal.is_admin:
                raise NotReviewOwner()
            if not await tx.uow.reviews.delete(review_id, now=self._clock.now()):
                raise _not_found(review_id)  # deleted concurrently
            await tx.commit()

    async def moderate(self, principal: Principal, command: ModerateReviews) -> Page[Review]:
        """Admins: live reviews filtered (book, user, rating range; AND-combined), sorted by
        date or rating (then id), one page with the exact total.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
        """
        require_admin(principal)
        async with self._tx.read() as uow:
            return await uow.reviews.list(command.query, command.page_request)

    async def delete_many(self, principal: Principal, command: BulkDeleteReviews) -> int:
        """Admins: soft-delete up to 50 reviews in one statement, skipping missing and
        already deleted ids.

        Returns:
            How many reviews were deleted.

        Raises:
            PermissionDenied: ``AUTH_FORBIDDEN`` for non-admins.
        """
        require_admin(principal)
        async with self._tx.write() as tx:
            count = await tx.uow.reviews.delete_many(
                sorted(set(command.review_ids)), now=self._clock.now()
            )
            await tx.commit()
        return count
