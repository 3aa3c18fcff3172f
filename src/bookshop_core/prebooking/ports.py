"""The pre-booking context's repository port and the unit of work that carries it.

Every backend passes the pre-booking contract (``bookshop_adapters.testing.contract``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bookshop_core.kernel.uow import UnitOfWork
from bookshop_core.notifications.outbox import OutboxUnitOfWork
from bookshop_core.prebooking.entities import PreBooking

__all__ = ["PreBookingRepository", "PreBookingUnitOfWork"]


class PreBookingRepository(Protocol):
    """Stores pre-bookings. At most one ``waiting`` pre-booking per user and book."""

    async def add_waiting(
        self, user_id: int, book_id: int, *, created_at: datetime
    ) -> PreBooking | None:
        """Store a waiting pre-booking of ``book_id`` for ``user_id`` if the book exists and
        its stock is 0, atomically with respect to stock changes: a concurrent restock either
        commits first (then nothing is stored) or waits for this transaction (then its
        broadcast sees the new pre-booking). SQL backends hold the book's row lock for it.

        Returns:
            The pre-booking, or ``None`` when the book does not exist or is in stock (read
            the book to tell which).

        Raises:
            Conflict: ``PREBOOK_DUPLICATE`` when the user already has a waiting pre-booking
                of the book (race-safe: a unique index on SQL).
        """
        ...

    async def get(self, prebooking_id: int) -> PreBooking | None:
        """The pre-booking with this id (any user's)."""
        ...

    async def list_for_user(self, user_id: int) -> Sequence[PreBooking]:
        """Every pre-booking of the user, every status, newest first (by ``created_at``, then
        id), in one statement."""
        ...

    async def cancel(self, prebooking_id: int, *, now: datetime) -> PreBooking | None:
        """Cancel a pre-booking that is not cancelled yet (one conditional write).

        Returns:
            The cancelled pre-booking, or ``None`` when it does not exist or was already
            cancelled.
        """
        ...

    async def notify_waiting(self, book_id: int, *, now: datetime) -> Sequence[PreBooking]:
        """Mark every waiting pre-booking of the book notified at ``now``, in one statement
        whatever their number.

        Returns:
            The pre-bookings it notified, as they are now (none twice: a second call finds
            them notified).
        """
        ...

    async def emails_of(self, user_ids: Sequence[int]) -> Mapping[int, str]:
        """The email addresses of these users (those that exist), in one statement."""
        ...


class PreBookingUnitOfWork(OutboxUnitOfWork, UnitOfWork, Protocol):
    """What the pre-booking use cases need: ``prebookings``, and the ``outbox`` the restock
    broadcast writes to."""

    @property
    def prebookings(self) -> PreBookingRepository: ...
