"""The SQL reviews repository.

Every read is one statement for a whole page (plus one for the total): each review comes with
its author's display name and its book (joins) and ``verified_purchase`` (a correlated
``EXISTS`` over the author's orders in a sale status), never a statement per review.

Ratings: each book's ``review_count`` and ``rating_sum`` columns count its live reviews. Every
write moves them in the same transaction with a relative ``UPDATE`` (``review_count =
review_count + 1``), which reads the row's latest committed version under its row lock, so
concurrent writes never lose a count; the catalog reads them with the book (one statement for
any page of books), and ``Book.avg_rating`` rounds their quotient exactly.

Race safety:

- ``add`` first moves the book's counters, which takes the book row's lock: concurrent
  reviews of one book queue behind it, and the duplicate check that follows (a new statement
  at READ COMMITTED on PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``) sees a
  review committed meanwhile, so two concurrent first reviews by one user leave one and the
  other is ``DUPLICATE_REVIEW`` with its id. The partial unique index ``uq_reviews_live`` is
  the backstop (``CONSTRAINT_ERRORS``).
- ``update`` reads the old rating ``FOR UPDATE`` (PostgreSQL), so the rating sum moves by the
  difference from the version it replaces.
- ``delete``/``delete_many`` are conditional updates (``deleted_at IS NULL``) returning what
  they deleted: a review deleted twice concurrently is uncounted once.

Statement budget: ``has_purchased``, ``get``: 1; ``list_for_book``, ``list``: 2; ``add``: 4;
``update``: 3 or 4; ``delete``: 2; ``delete_many``: 2 whatever the number of ids (the soft
delete, then one counter update for every book touched).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import (
    BookRow,
    OrderItemRow,
    OrderRow,
    ReviewRow,
    UserRow,
    table_of,
)
from bookshop_core.catalog.entities import SortDirection
from bookshop_core.commerce.entities import SOLD_STATUSES
from bookshop_core.identity.entities import default_display_name
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

__all__ = ["SqlReviewRepository"]

_reviews: Final = table_of(ReviewRow)
_books: Final = table_of(BookRow)
_users: Final = table_of(UserRow)
_orders: Final = table_of(OrderRow)
_items: Final = table_of(OrderItemRow)
_c: Final = _reviews.c

_SOLD: Final = sorted(status.value for status in SOLD_STATUSES)
_LIVE: Final = _c.deleted_at.is_(None)


def _purchased(user_id: ColumnElement[Any], book_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether an order of ``user_id`` in a sale status has a line of ``book_id``."""
    return exists().where(
        _items.c.book_id == book_id,
        _orders.c.id == _items.c.order_id,
        _orders.c.user_id == user_id,
        _orders.c.status.in_(_SOLD),
    )


#: A live review with its author, its book and whether its author bought the book.
_READ: Final = (
    select(
        _c.id,
        _c.book_id,
        _c.user_id,
        _c.rating,
        _c.text,
        _c.created_at,
        _c.updated_at,
        _users.c.display_name,
        _books.c.title,
        _books.c.cover_image_url,
        _purchased(_c.user_id, _c.book_id).label("verified_purchase"),
    )
    .select_from(
        _reviews.join(_books, _books.c.id == _c.book_id).join(_users, _users.c.id == _c.user_id)
    )
    .where(_LIVE)
)


def _from_row(row: Row[Any]) -> Review:
    return Review(
        id=row.id,
        book_id=row.book_id,
        user_id=row.user_id,
        rating=row.rating,
        text=row.text,
        verified_purchase=bool(row.verified_purchase),
        created_at=row.created_at,
        updated_at=row.updated_at,
        author=ReviewAuthor(
            user_id=row.user_id,
            display_name=row.display_name or default_display_name(row.user_id),
        ),
        book=ReviewedBook(
            book_id=row.book_id, title=row.title, cover_image_url=row.cover_image_url
        ),
    )


def _filters(query: ReviewQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [_LIVE]
    if query.book_id is not None:
        found.append(_c.book_id == query.book_id)
    if query.user_id is not None:
        found.append(_c.user_id == query.user_id)
    if query.rating_min is not None:
        found.append(_c.rating >= query.rating_min)
    if query.rating_max is not None:
        found.append(_c.rating <= query.rating_max)
    return found


def _order(query: ReviewQuery) -> list[ColumnElement[Any]]:
    key = _c.rating if query.sort is ReviewSort.RATING else _c.created_at
    if query.direction is SortDirection.DESC:
        return [key.desc(), _c.id.desc()]
    return [key.asc(), _c.id.asc()]


class SqlReviewRepository(SqlRepository):
    """Reviews in the ``reviews`` table; ratings in the books' counter columns."""

    async def has_purchased(self, user_id: int, book_id: int) -> bool:
        """One ``SELECT EXISTS``."""
        statement = select(_purchased(literal(user_id), literal(book_id)))
        return bool((await self._execute(statement)).scalar_one())

    async def get(self, review_id: int) -> Review | None:
        """The live review (one statement)."""
        row = (await self._execute(_READ.where(_c.id == review_id))).first()
        return None if row is None else _from_row(row)

    async def _page(
        self,
        where: Sequence[ColumnElement[bool]],
        order: Sequence[ColumnElement[Any]],
        page: PageRequest,
    ) -> Page[Review]:
        rows = await self._execute(
            _READ.where(*where).order_by(*order).offset(page.offset).limit(page.limit)
        )
        items = [_from_row(row) for row in rows]
        total_query: Select[Any] = select(func.count()).select_from(_reviews).where(*where)
        total = (await self._execute(total_query)).scalar_one()
        return Page.of(items, total, page)

    async def list_for_book(self, book_id: int, page: PageRequest) -> Page[Review]:
        """Newest first (two statements: the page, the total)."""
        return await self._page(
            [_LIVE, _c.book_id == book_id], [_c.created_at.desc(), _c.id.desc()], page
        )

    async def list(self, query: ReviewQuery, page: PageRequest) -> Page[Review]:
        """Filtered and sorted (two statements: the page, the total)."""
        return await self._page(_filters(query), _order(query), page)

    async def add(self, review: NewReview) -> Review | None:
        """Count it in the book (taking the book's row lock), check for a live review of
        the same author, insert, read back (four statements)."""
        counted = await self._execute(
            update(_books)
            .where(_books.c.id == review.book_id)
            .values(
                review_count=_books.c.review_count + 1,
                rating_sum=_books.c.rating_sum + review.rating,
            )
            .returning(_books.c.id)
        )
        if counted.first() is None:
            return None
        existing = (
            await self._execute(
                select(_c.id).where(
                    _c.user_id == review.user_id, _c.book_id == review.book_id, _LIVE
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            raise DuplicateReview.of(existing)
        inserted = await self._execute(
            insert(_reviews)
            .values(
                user_id=review.user_id,
                book_id=review.book_id,
                rating=review.rating,
                text=review.text,
                created_at=review.created_at,
                updated_at=review.created_at,
                deleted_at=None,
            )
            .returning(_c.id)
        )
        return await self.get(inserted.scalar_one())

    async def update(
        self,
        review_id: int,
        *,
        rating: int | Unset = UNSET,
        text: str | Unset | None = UNSET,
        now: datetime,
    ) -> Review | None:
        """Lock and read the old rating, write the given fields, move the book's sum by the
        difference (when it changed), read back."""
        read = select(_c.book_id, _c.rating).where(_c.id == review_id, _LIVE)
        if self._dialect_name == "postgresql":
            read = read.with_for_update()
        old = (await self._execute(read)).first()
        if old is None:
            return None
        values: dict[str, Any] = {"updated_at": now}
        if not isinstance(rating, Unset):
            values["rating"] = rating
        if not isinstance(text, Unset):
            values["text"] = text
        await self._execute(update(_reviews).where(_c.id == review_id).values(**values))
        if not isinstance(rating, Unset) and rating != old.rating:
            await self._execute(
                update(_books)
                .where(_books.c.id == old.book_id)
                .values(rating_sum=_books.c.rating_sum + (rating - old.rating))
            )
        return await self.get(review_id)

    async def delete(self, review_id: int, *, now: datetime) -> bool:
        """Soft-delete if live, then uncount (two statements)."""
        return await self.delete_many([review_id], now=now) == 1

    async def delete_many(self, review_ids: Sequence[int], *, now: datetime) -> int:
        """One conditional ``UPDATE ... RETURNING`` of the live ones among the ids, then one
        ``UPDATE`` of every touched book's counters."""
        ids = sorted(set(review_ids))
        if not ids:
            return 0
        deleted = (
            await self._execute(
                update(_reviews)
                .where(_c.id.in_(ids), _LIVE)
                .values(deleted_at=now)
                .returning(_c.book_id, _c.rating)
            )
        ).all()
        if not deleted:
            return 0
        counts = Counter(row.book_id for row in deleted)
        sums: Counter[int] = Counter()
        for row in deleted:
            sums[row.book_id] += row.rating
        books = sorted(counts)  # one statement; rows are locked in id order
        await self._execute(
            update(_books)
            .where(_books.c.id.in_(books))
            .values(
                review_count=_books.c.review_count - _by_book(counts),
                rating_sum=_books.c.rating_sum - _by_book(sums),
            )
        )
        return len(deleted)


def _by_book(amounts: Counter[int]) -> ColumnElement[int]:
    """``CASE books.id WHEN <id> THEN <amount> ... END`` for a counter update of many books."""
    return case(dict(amounts), value=_books.c.id, else_=0)
