"""The in-memory reviews: the reference model of ``ReviewRepository``.

Transactions of the memory backend are serialised by the store's lock, so the duplicate check
and the insert of ``add``, and every counter update, are atomic as the SQL backends' locks and
relative updates make them. Each book's ``review_count``/``rating_sum`` (the Book entities in
the ``books`` table) move with every write, as the SQL backends' counter columns do.

Tables:

- ``reviews``: ``{review_id: _Row}``, deleted ones kept (``deleted_at`` set).
- ``reviews_live``: ``{(user_id, book_id): review_id}`` of live reviews (the SQL partial
  unique index ``uq_reviews_live``).

A deleted book takes its reviews with it (the SQL foreign key cascades): they are no longer
read. The purchase gate reads commerce's ``orders`` table (``{order_id: Order}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
from attrs import frozen

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import Book, SortDirection
from bookshop_core.commerce.entities import SOLD_STATUSES, Order
from bookshop_core.identity.entities import User, default_display_name
from bookshop_core.kernel.pagination import Page, PageRequest
from bookshop_core.kernel.validation import UNSET, Unset
from bookshop_core.reviews.entities import (
    NewReview,
    Review,
    ReviewAuthor,
    ReviewedBook,
    ReviewQuery,
    ReviewSort,
)
from bookshop_core.reviews.errors import DuplicateReview

__all__ = ["MemoryReviewRepository"]


@frozen
class _Row:
    id: int
    user_id: int
    book_id: int
    rating: int
    text: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class MemoryReviewRepository:
    """Reviews by id, the live ones indexed by (user, book).

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, _Row] = store.table("reviews")
        self._live: dict[tuple[int, int], int] = store.table("reviews_live")
        self._books: dict[int, Book] = store.table("books")
        self._users: dict[int, User] = store.table("users")
        self._orders: dict[int, Order] = store.table("orders")
        self._journal = journal

    # -- reading ----------------------------------------------------------------------------

    def _purchased(self, user_id: int, book_id: int) -> bool:
        if book_id not in self._books:  # a deleted book's order lines read book_id=None
            return False
        return any(
            order.user_id == user_id
            and order.status in SOLD_STATUSES
            and any(line.book_id == book_id for line in order.items)
            for order in self._orders.values()
        )

    def _is_live(self, row: _Row) -> bool:
        """Not deleted, and its book still exists (a deleted book's reviews went with it)."""
        return row.deleted_at is None and row.book_id in self._books

    def _entity(self, row: _Row) -> Review | None:
        """The review as read, ``None`` when deleted or its book is gone."""
        if not self._is_live(row):
            return None
        book = self._books[row.book_id]
        user = self._users.get(row.user_id)
        name = user.public_name if user is not None else default_display_name(row.user_id)
        return Review(
            id=row.id,
            book_id=row.book_id,
            user_id=row.user_id,
            rating=row.rating,
            text=row.text,
            verified_purchase=self._purchased(row.user_id, row.book_id),
            created_at=row.created_at,
            updated_at=row.updated_at,
            author=ReviewAuthor(user_id=row.user_id, display_name=name),
            book=ReviewedBook(
                book_id=book.id, title=book.title, cover_image_url=book.cover_image_url
            ),
        )

    def _matching(self, query: ReviewQuery) -> list[_Row]:
        """The live reviews' rows passing ``query``'s filters (rows, so that a page reads the
        users and orders only for the reviews it lists)."""
        return [
            row
            for row in self._rows.values()
            if self._is_live(row)
            and (query.book_id is None or row.book_id == query.book_id)
            and (query.user_id is None or row.user_id == query.user_id)
            and (query.rating_min is None or row.rating >= query.rating_min)
            and (query.rating_max is None or row.rating <= query.rating_max)
        ]

    def _page(self, rows: list[_Row], page: PageRequest) -> Page[Review]:
        """The page of ``rows`` (sorted), read."""
        chosen = rows[page.offset : page.offset + page.limit]
        return Page.of([e for e in map(self._entity, chosen) if e is not None], len(rows), page)

    async def has_purchased(self, user_id: int, book_id: int) -> bool:
        """Whether an order of the user in a sale status has a line of the book."""
        return self._purchased(user_id, book_id)

    async def get(self, review_id: int) -> Review | None:
        """The live review with this id."""
        row = self._rows.get(review_id)
        return None if row is None else self._entity(row)

    async def list_for_book(self, book_id: int, page: PageRequest) -> Page[Review]:
        """The book's live reviews, newest first."""
        found = sorted(
            self._matching(ReviewQuery(book_id=book_id)),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        return self._page(found, page)

    async def list(self, query: ReviewQuery, page: PageRequest) -> Page[Review]:
        """Live reviews matching ``query``, in its order (ties by id, same direction)."""
        found = self._matching(query)
        if query.sort is ReviewSort.RATING:
            found.sort(key=lambda r: (r.rating, r.id))
        else:
            found.sort(key=lambda r: (r.created_at, r.id))
        if query.direction is SortDirection.DESC:
            found.reverse()
        return self._page(found, page)

    # -- writing ----------------------------------------------------------------------------

    def _count(self, book_id: int, *, reviews: int, ratings: int) -> None:
        """Move a book's review counters (if the book still exists)."""
        book = self._books.get(book_id)
        if book is not None:
            changed = attrs.evolve(
                book,
                review_count=book.review_count + reviews,
                rating_sum=book.rating_sum + ratings,
            )
            self._journal.put(self._books, book_id, changed)

    def _put(self, row: _Row) -> None:
        key = (row.user_id, row.book_id)
        if row.deleted_at is None:
            self._journal.put(self._live, key, row.id)
        elif self._live.get(key) == row.id:
            self._journal.remove(self._live, key)
        self._journal.put(self._rows, row.id, row)

    async def add(self, review: NewReview) -> Review | None:
        """A live review, counted in its book; ``None`` when the book does not exist."""
        if review.book_id not in self._books:
            return None
        existing = self._live.get((review.user_id, review.book_id))
        if existing is not None and existing in self._rows:
            raise DuplicateReview.of(existing)
        row = _Row(
            id=self._store.next_id("reviews"),
            user_id=review.user_id,
            book_id=review.book_id,
            rating=review.rating,
            text=review.text,
            created_at=review.created_at,
            updated_at=review.created_at,
        )
        self._put(row)
        self._count(row.book_id, reviews=1, ratings=row.rating)
        return self._entity(row)

    def _live_row(self, review_id: int) -> _Row | None:
        row = self._rows.get(review_id)
        return row if row is not None and self._is_live(row) else None

    async def update(
        self,
        review_id: int,
        *,
        rating: int | Unset = UNSET,
        text: str | Unset | None = UNSET,
        now: datetime,
    ) -> Review | None:
        """The given fields written, the book's rating sum moved by the difference."""
        row = self._live_row(review_id)
        if row is None:
            return None
        changed = attrs.evolve(
            row,
            rating=row.rating if isinstance(rating, Unset) else rating,
            text=row.text if isinstance(text, Unset) else text,
            updated_at=now,
        )
        self._put(changed)
        self._count(row.book_id, reviews=0, ratings=changed.rating - row.rating)
        return self._entity(changed)

    def _delete(self, row: _Row, now: datetime) -> None:
        self._put(attrs.evolve(row, deleted_at=now))
        self._count(row.book_id, reviews=-1, ratings=-row.rating)

    async def delete(self, review_id: int, *, now: datetime) -> bool:
        """Soft-deleted and uncounted, unless missing or deleted already."""
        row = self._live_row(review_id)
        if row is None:
            return False
        self._delete(row, now)
        return True

    async def delete_many(self, review_ids: Sequence[int], *, now: datetime) -> int:
        """Each live review among the ids soft-deleted and uncounted."""
        rows = [row for i in sorted(set(review_ids)) if (row := self._live_row(i)) is not None]
        for row in rows:
            self._delete(row, now)
        return len(rows)
