"""The in-memory pre-bookings: the reference model of ``PreBookingRepository``.

Transactions of the memory backend are serialised by the store's lock, so checking the stock
and inserting (``add_waiting``) is atomic, as the SQL backends' row lock makes it. A deleted
book takes its pre-bookings with it (the SQL foreign key cascades): they are no longer read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs
from attrs import frozen

from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_core.catalog.entities import Book
from bookshop_core.identity.entities import User
from bookshop_core.prebooking.entities import PreBooking, PreBookingStatus
from bookshop_core.prebooking.errors import PrebookDuplicate

__all__ = ["MemoryPreBookingRepository"]


@frozen
class _Row:
    id: int
    user_id: int
    book_id: int
    status: PreBookingStatus
    created_at: datetime
    notified_at: datetime | None = None
    cancelled_at: datetime | None = None


class MemoryPreBookingRepository:
    """Pre-bookings by id in the ``prebookings`` table, and the waiting ones by (user, book)
    in ``prebookings_waiting`` (the SQL partial unique index).

    Args:
        store: The shop's in-memory tables.
        journal: The unit of work's undo journal.
    """

    def __init__(self, store: MemoryStore, journal: Journal) -> None:
        self._store = store
        self._rows: dict[int, _Row] = store.table("prebookings")
        self._waiting: dict[tuple[int, int], int] = store.table("prebookings_waiting")
        self._books: dict[int, Book] = store.table("books")
        self._users: dict[int, User] = store.table("users")
        self._journal = journal

    def _entity(self, row: _Row) -> PreBooking | None:
        book = self._books.get(row.book_id)
        if book is None:  # the book was deleted: its pre-bookings went with it
            return None
        return PreBooking(
            id=row.id,
            user_id=row.user_id,
            book_id=row.book_id,
            status=row.status,
            created_at=row.created_at,
            notified_at=row.notified_at,
            cancelled_at=row.cancelled_at,
            book_title=book.title,
            book_author=book.author,
        )

    def _put(self, row: _Row) -> PreBooking:
        key = (row.user_id, row.book_id)
        if row.status is PreBookingStatus.WAITING:
            self._journal.put(self._waiting, key, row.id)
        elif self._waiting.get(key) == row.id:
            self._journal.remove(self._waiting, key)
        self._journal.put(self._rows, row.id, row)
        entity = self._entity(row)
        assert entity is not None
        return entity

    async def add_waiting(
        self, user_id: int, book_id: int, *, created_at: datetime
    ) -> PreBooking | None:
        """A waiting pre-booking if the book exists with stock 0; ``None`` otherwise."""
        book = self._books.get(book_id)
        if book is None or book.stock_quantity > 0:
            return None
        if self._waiting.get((user_id, book_id)) in self._rows:
            raise PrebookDuplicate()
        row = _Row(
            id=self._store.next_id("prebookings"),
            user_id=user_id,
            book_id=book_id,
            status=PreBookingStatus.WAITING,
            created_at=created_at,
        )
        return self._put(row)

    async def get(self, prebooking_id: int) -> PreBooking | None:
        """The pre-booking with this id."""
        row = self._rows.get(prebooking_id)
        return None if row is None else self._entity(row)

    async def list_for_user(self, user_id: int) -> Sequence[PreBooking]:
        """The user's pre-bookings, newest first."""
        rows = sorted(
            (r for r in self._rows.values() if r.user_id == user_id),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        return [e for e in map(self._entity, rows) if e is not None]

    async def cancel(self, prebooking_id: int, *, now: datetime) -> PreBooking | None:
        """Cancelled, unless missing or cancelled already."""
        row = self._rows.get(prebooking_id)
        if row is None or row.status is PreBookingStatus.CANCELLED:
            return None
        if self._entity(row) is None:
            return None
        return self._put(attrs.evolve(row, status=PreBookingStatus.CANCELLED, cancelled_at=now))

    async def notify_waiting(self, book_id: int, *, now: datetime) -> Sequence[PreBooking]:
        """Every waiting pre-booking of the book, now notified."""
        waiting = [
            r
            for r in self._rows.values()
            if r.book_id == book_id and r.status is PreBookingStatus.WAITING
        ]
        return [
            self._put(attrs.evolve(r, status=PreBookingStatus.NOTIFIED, notified_at=now))
            for r in sorted(waiting, key=lambda r: r.id)
        ]

    async def emails_of(self, user_ids: Sequence[int]) -> Mapping[int, str]:
        """The addresses of the users that exist."""
        return {i: self._users[i].email for i in user_ids if i in self._users}
