"""The SQL pre-booking repository.

Statement budget: every method is one statement, except ``add_waiting`` (two: the book's row
read under a share lock, then the insert). The restock broadcast is therefore three statements
whatever the number of pre-bookers: ``notify_waiting`` (one ``UPDATE ... RETURNING``),
``emails_of`` (one read) and the outbox's insert of the messages.

Race safety:

- ``add_waiting`` reads the book ``FOR SHARE`` on PostgreSQL, so a restock (whose ``UPDATE``
  of the book's stock takes the row's exclusive lock) either commits before the read (then
  the stock is seen above 0 and nothing is inserted) or waits for this transaction to end
  (then its broadcast, a later statement at READ COMMITTED, sees the new pre-booking). On
  SQLite, writing transactions are serialised by ``BEGIN IMMEDIATE``.
- Two pre-bookings of one book by one user: the partial unique index
  ``uq_prebookings_waiting`` lets one commit; the other's insert fails and is translated to
  ``PREBOOK_DUPLICATE`` (``CONSTRAINT_ERRORS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, String, insert, literal_column, select, update

from bookshop_adapters.sqlalchemy.repository import SqlRepository
from bookshop_adapters.sqlalchemy.tables import BookRow, PreBookingRow, UserRow, table_of
from bookshop_core.prebooking.entities import PreBooking, PreBookingStatus

__all__ = ["SqlPreBookingRepository"]

_prebookings: Final = table_of(PreBookingRow)
_books: Final = table_of(BookRow)
_users: Final = table_of(UserRow)
_c: Final = _prebookings.c

_WAITING: Final = PreBookingStatus.WAITING.value
_CANCELLED: Final = PreBookingStatus.CANCELLED.value

#: Users read per statement by ``emails_of`` (well under every driver's bind limit; a
#: broadcast of up to this many pre-bookers is one read).
_READ_BATCH: Final = 5000

_OWN: Final = (
    _c.id,
    _c.user_id,
    _c.book_id,
    _c.status,
    _c.created_at,
    _c.notified_at,
    _c.cancelled_at,
)
# RETURNING may name only the written table's columns: the book's title and author come from
# correlated scalar subqueries (PostgreSQL and SQLite both allow them there), spelled out
# because SQLAlchemy renders RETURNING columns unqualified, which would leave them ambiguous.
_RETURNED: Final = (
    *_OWN,
    literal_column(
        "(SELECT books.title FROM books WHERE books.id = prebookings.book_id)", String()
    ).label("book_title"),
    literal_column(
        "(SELECT books.author FROM books WHERE books.id = prebookings.book_id)", String()
    ).label("book_author"),
)
_JOINED: Final = select(
    *_OWN, _books.c.title.label("book_title"), _books.c.author.label("book_author")
).select_from(_prebookings.join(_books, _books.c.id == _c.book_id))


def _from_row(row: Row[Any]) -> PreBooking:
    return PreBooking(
        id=row.id,
        user_id=row.user_id,
        book_id=row.book_id,
        status=PreBookingStatus(row.status),
        created_at=row.created_at,
        notified_at=row.notified_at,
        cancelled_at=row.cancelled_at,
        book_title=row.book_title,
        book_author=row.book_author,
    )


class SqlPreBookingRepository(SqlRepository):
    """Pre-bookings in the ``prebookings`` table."""

    async def add_waiting(
        self, user_id: int, book_id: int, *, created_at: datetime
    ) -> PreBooking | None:
        """Read the book under a share lock; insert when its stock is 0 (two statements)."""
        read = select(_books.c.stock_quantity).where(_books.c.id == book_id)
        if self._dialect_name == "postgresql":
            read = read.with_for_update(read=True)
        stock = (await self._execute(read)).scalar_one_or_none()
        if stock is None or stock > 0:
            return None
        result = await self._execute(
            insert(_prebookings)
            .values(
                user_id=user_id,
                book_id=book_id,
                status=_WAITING,
                created_at=created_at,
                notified_at=None,
                cancelled_at=None,
            )
            .returning(*_RETURNED)
        )
        return _from_row(result.one())

    async def get(self, prebooking_id: int) -> PreBooking | None:
        """The pre-booking with this id (one statement)."""
        row = (await self._execute(_JOINED.where(_c.id == prebooking_id))).first()
        return None if row is None else _from_row(row)

    async def list_for_user(self, user_id: int) -> Sequence[PreBooking]:
        """The user's pre-bookings, newest first (one statement)."""
        rows = await self._execute(
            _JOINED.where(_c.user_id == user_id).order_by(_c.created_at.desc(), _c.id.desc())
        )
        return [_from_row(row) for row in rows]

    async def cancel(self, prebooking_id: int, *, now: datetime) -> PreBooking | None:
        """Cancel unless cancelled already (one ``UPDATE ... RETURNING``)."""
        result = await self._execute(
            update(_prebookings)
            .where(_c.id == prebooking_id, _c.status != _CANCELLED)
            .values(status=_CANCELLED, cancelled_at=now)
            .returning(*_RETURNED)
        )
        row = result.first()
        return None if row is None else _from_row(row)

    async def notify_waiting(self, book_id: int, *, now: datetime) -> Sequence[PreBooking]:
        """Every waiting pre-booking of the book, notified (one ``UPDATE ... RETURNING``)."""
        result = await self._execute(
            update(_prebookings)
            .where(_c.book_id == book_id, _c.status == _WAITING)
            .values(status=PreBookingStatus.NOTIFIED.value, notified_at=now)
            .returning(*_RETURNED)
        )
        # RETURNING follows no ORDER BY.
        return sorted(map(_from_row, result), key=lambda p: p.id)

    async def emails_of(self, user_ids: Sequence[int]) -> Mapping[int, str]:
        """The users' addresses (one statement per :data:`_READ_BATCH` users)."""
        emails: dict[int, str] = {}
        ids = list(user_ids)
        for start in range(0, len(ids), _READ_BATCH):
            rows = await self._execute(
                select(_users.c.id, _users.c.email).where(
                    _users.c.id.in_(ids[start : start + _READ_BATCH])
                )
            )
            emails.update({row.id: row.email for row in rows})
        return emails
