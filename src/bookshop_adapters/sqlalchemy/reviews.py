"""The SQL reviews repository.

Every read is one statement for a whole page (plus one for the total): each review comes with
its author's display name and its book (joins) and ``verified_purchase`` (a correlated
``EXISTS`` over the author's orders in a sale status), never a statement per review.

Ratings: each book's ``review_count`` and ``rating_sum`` columns count its live reviews.
Triggers on ``reviews`` (migration 0008) move them in the transaction of every statement that
writes a review, by a relative update under the book row's lock, so no method here writes them
and concurrent writes never lose a count; the catalog reads them with the book (one statement
for any page of books), and ``Book.avg_rating`` rounds their quotient exactly.

Race safety:

- ``add`` inserts unless the author has a live review of the book (``ON CONFLICT DO NOTHING``
  on the partial unique index ``uq_reviews_live``): of two concurrent first reviews by one
  user, the index makes the second wait for the first's commit and then insert nothing, and a
  new statement (a fresh snapshot at READ COMMITTED on PostgreSQL; SQLite serialises writers
  with ``BEGIN IMMEDIATE``) reads the review it collided with, for ``DUPLICATE_REVIEW`` with its
  id. The insert reads its book ``FOR KEY SHARE`` (PostgreSQL), so a book deleted
  concurrently is found gone (``None``) rather than breaking the foreign key.
- ``update``, ``delete`` and ``delete_many`` are conditional updates (``deleted_at IS NULL``):
  each locks the rows it changes and the triggers count from the versions replaced, so a
  review re-rated and deleted concurrently is uncounted with its latest rating, and a review
  deleted twice concurrently is uncounted once.

Statement budget: ``has_purchased``, ``get``, ``delete``: 1; ``list_for_book``, ``list``,
``update``: 2; ``add``: 2 (3 for a duplicate); ``delete_many``: 1 whatever the number of ids
(the soft delete; the triggers move the counters of every book touched).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Executable,
    Row,
    Select,
    bindparam,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

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
from bookshop_core.errors import StoreBusy
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


# The fixed-shape statements of the hot paths (a book's page, reading back a write), built once
# with bound parameters: SQLAlchemy then reuses their cache key and compiled form as they are.

#: ``get``: one live review.
_GET: Final = _READ.where(_c.id == bindparam("review_id"))

#: ``has_purchased``: the purchase gate of every review write.
_HAS_PURCHASED: Final = select(_purchased(bindparam("user_id"), bindparam("book_id")))

_OF_BOOK: Final = (_LIVE, _c.book_id == bindparam("book_id"))

#: ``list_for_book``: a page of a book's live reviews, newest first, and their total.
_BOOK_PAGE: Final = (
    _READ.where(*_OF_BOOK)
    .order_by(_c.created_at.desc(), _c.id.desc())
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)
_BOOK_TOTAL: Final = select(func.count()).select_from(_reviews).where(*_OF_BOOK)


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
        parameters = {"user_id": user_id, "book_id": book_id}
        return bool((await self._execute(_HAS_PURCHASED, parameters)).scalar_one())

    async def get(self, review_id: int) -> Review | None:
        """The live review (one statement)."""
        row = (await self._execute(_GET, {"review_id": review_id})).first()
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
        parameters = {"book_id": book_id, "offset": page.offset, "limit": page.limit}
        items = [_from_row(row) for row in await self._execute(_BOOK_PAGE, parameters)]
        total: int = (await self._execute(_BOOK_TOTAL, parameters)).scalar_one()
        return Page.of(items, total, page)

    async def list(self, query: ReviewQuery, page: PageRequest) -> Page[Review]:
        """Filtered and sorted (two statements: the page, the total)."""
        return await self._page(_filters(query), _order(query), page)

    async def add(self, review: NewReview) -> Review | None:
        """Insert unless the author has a live review of the book, read back (two
        statements; three for a duplicate)."""
        # The live review collided with may be deleted before it is read: then try again.
        for _ in range(_ADD_ATTEMPTS):
            inserted = (await self._execute(self._insert_unless_live(review))).first()
            if inserted is not None:
                return await self.get(inserted.id)
            found = (await self._execute(_book_and_live_review(review))).first()
            if found is None:
                return None  # the book was deleted
            if found.existing is not None:
                raise DuplicateReview.of(found.existing)
        raise StoreBusy()

    def _insert_unless_live(self, review: NewReview) -> Executable:
        """``INSERT ... SELECT`` from the book's row (none when it is gone), nothing when the
        author has a live review of it, ``RETURNING`` the new id."""
        dialect = postgresql if self._dialect_name == "postgresql" else sqlite
        source = (
            select(
                literal(review.user_id, _c.user_id.type),
                _books.c.id,
                literal(review.rating, _c.rating.type),
                literal(review.text, _c.text.type),
                literal(review.created_at, _c.created_at.type),
                literal(review.created_at, _c.updated_at.type),
            )
            .where(_books.c.id == review.book_id)
            .with_for_update(read=True, key_share=True)  # PostgreSQL only; SQLite: nothing
        )
        columns = ["user_id", "book_id", "rating", "text", "created_at", "updated_at"]
        statement: Executable = (
            dialect.insert(_reviews)
            .from_select(columns, source)
            .on_conflict_do_nothing(index_elements=[_c.user_id, _c.book_id], index_where=_LIVE)
            .returning(_c.id)
        )
        return statement

    async def update(
        self,
        review_id: int,
        *,
        rating: int | Unset = UNSET,
        text: str | Unset | None = UNSET,
        now: datetime,
    ) -> Review | None:
        """Write the given fields if the review is live, read back (two statements)."""
        values: dict[str, Any] = {"updated_at": now}
        if not isinstance(rating, Unset):
            values["rating"] = rating
        if not isinstance(text, Unset):
            values["text"] = text
        changed = await self._execute(
            update(_reviews).where(_c.id == review_id, _LIVE).values(**values).returning(_c.id)
        )
        if changed.first() is None:
            return None
        return await self.get(review_id)

    async def delete(self, review_id: int, *, now: datetime) -> bool:
        """Soft-delete if live (one statement)."""
        return await self.delete_many([review_id], now=now) == 1

    async def delete_many(self, review_ids: Sequence[int], *, now: datetime) -> int:
        """One conditional ``UPDATE ... RETURNING`` of the live ones among the ids."""
        ids = sorted(set(review_ids))
        if not ids:
            return 0
        deleted = await self._execute(
            update(_reviews).where(_c.id.in_(ids), _LIVE).values(deleted_at=now).returning(_c.id)
        )
        return len(deleted.all())


#: How often ``add`` tries again when the live review it collided with vanished meanwhile.
_ADD_ATTEMPTS: Final = 3


def _book_and_live_review(review: NewReview) -> Select[Any]:
    """The book's row (none when it is gone) with the id of its author's live review, if any."""
    existing = (
        select(_c.id)
        .where(_c.user_id == review.user_id, _c.book_id == _books.c.id, _LIVE)
        .scalar_subquery()
    )
    return select(_books.c.id, existing.label("existing")).where(_books.c.id == review.book_id)
